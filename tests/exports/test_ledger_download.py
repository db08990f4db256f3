"""The custody ledger as a download: what `moonvault export-ledger` writes, for anyone."""

import io
import json

import pytest

from moonvault.custody.archive import ledger_export
from moonvault.custody.selectors import ledger_head

pytestmark = pytest.mark.django_db


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_the_download_is_the_command_s_export(client, decided):
    response = client.get("/api/v1/exports/ledger.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    downloaded = lines(b"".join(response.streaming_content).decode())
    exported = io.StringIO()
    ledger_export(exported)
    expected = lines(exported.getvalue())
    header, *events = downloaded
    head = ledger_head()
    assert header["format"] == "moonvault-ledger"
    assert (header["head_seq"], header["head_hash"]) == (head.seq, head.hash)
    assert len(events) == head.seq > 0
    assert events == expected[1:]
    assert events[-1]["hash"] == head.hash


def test_the_home_page_links_the_download(client, db):
    assert 'href="/api/v1/exports/ledger.jsonl"' in client.get("/").content.decode()
