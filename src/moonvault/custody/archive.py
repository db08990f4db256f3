"""Ledger export, backup and restore.

The export is JSON lines: a header line (format, head seq and hash, time) and one object per event
with the hashed fields and the hash — what `chain.py` checks on its own. A backup is a zip of that
ledger plus the current state of every other table (Django's serialization, primary keys kept, so
the ledger's references stay valid) and a manifest with each member's SHA-256. Restore fills an
empty database from it, re-verifies the whole ledger, and keeps nothing unless it verifies.
"""

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

from django.core.management import call_command
from django.db import transaction

from moonvault.catalog.models import Sample
from moonvault.custody.bulk import EVENT_COLUMNS, BulkLedger
from moonvault.custody.chain import FIELDS
from moonvault.custody.models import CustodyEvent, LedgerHead
from moonvault.custody.selectors import events_stream, ledger_head
from moonvault.custody.verification import custody_verify

FORMAT = "moonvault-ledger"
BACKUP_FORMAT = "moonvault-backup"
# Derived or machine-local tables that a restore rebuilds itself.
NOT_BACKED_UP = [
    "contenttypes",
    "auth.permission",
    "sessions",
    "admin.logentry",
    "custody.custodyevent",
    "custody.ledgerhead",
    "catalog.samplefacet",
]


class ArchiveError(Exception):
    """A backup or export that cannot be used; the message says why."""


def ledger_export(out: io.TextIOBase) -> tuple[int, str]:
    """Write the ledger up to the current head; returns the head (seq, hash)."""
    head = ledger_head()
    for line in ledger_lines(head):
        out.write(line)
    return head.seq, head.hash


def ledger_lines(head: LedgerHead) -> Iterator[str]:
    """The export's lines, header first, up to `head`: what a download streams."""
    header = {
        "format": FORMAT,
        "version": 1,
        "head_seq": head.seq,
        "head_hash": head.hash,
        "exported_at": datetime.now(UTC).isoformat(),
        "fields": [*FIELDS, "hash"],
    }
    yield json.dumps(header) + "\n"
    names = [*FIELDS, "hash"]
    for row in events_stream(up_to=head.seq):
        yield json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n"


def backup_write(path: str) -> dict:
    ledger = io.StringIO()
    head_seq, head_hash = ledger_export(ledger)
    state = io.StringIO()
    call_command("dumpdata", exclude=NOT_BACKED_UP, stdout=state, verbosity=0)
    members = {"ledger.jsonl": ledger.getvalue().encode(), "state.json": state.getvalue().encode()}
    manifest = {
        "format": BACKUP_FORMAT,
        "version": 1,
        "created_at": datetime.now(UTC).isoformat(),
        "head_seq": head_seq,
        "head_hash": head_hash,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        for name, data in members.items():
            archive.writestr(name, data)
    return manifest


def _read_archive(path: str) -> tuple[dict, bytes, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            ledger = archive.read("ledger.jsonl")
            state = archive.read("state.json")
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, EOFError):
        raise ArchiveError(
            f"{path} is not a complete backup archive (truncated or corrupt)"
        ) from None
    except KeyError as missing:
        raise ArchiveError(f"{path} lacks {missing}; it is not a Moonvault backup") from None
    except (ValueError, zipfile.LargeZipFile, OSError) as exc:
        raise ArchiveError(f"{path} cannot be read: {exc}") from None
    if manifest.get("format") != BACKUP_FORMAT:
        raise ArchiveError(f"{path} is not a Moonvault backup")
    for name, data in (("ledger.jsonl", ledger), ("state.json", state)):
        if hashlib.sha256(data).hexdigest() != manifest.get("sha256", {}).get(name):
            raise ArchiveError(
                f"{name} in {path} does not match its checksum; the backup is corrupt"
            )
    return manifest, ledger, state


def backup_restore(path: str) -> dict:
    """Restore into an empty database; the ledger must verify or nothing is kept."""
    manifest, ledger, state = _read_archive(path)
    if Sample.objects.exists() or CustodyEvent.objects.exists():
        raise ArchiveError("the database is not empty; restore only into a fresh database")
    lines = ledger.decode().splitlines()
    header = json.loads(lines[0]) if lines else {}
    if header.get("format") != FORMAT:
        raise ArchiveError("the ledger in the backup has no header line")
    if (header.get("head_seq"), header.get("head_hash")) != (
        manifest.get("head_seq"),
        manifest.get("head_hash"),
    ):
        raise ArchiveError("the ledger's header and the backup's manifest name different heads")
    with transaction.atomic():
        # loaddata, not a bare deserialize, so that PostgreSQL's id sequences move past the rows.
        with tempfile.NamedTemporaryFile(suffix=".json") as fixture:
            fixture.write(state)
            fixture.flush()
            call_command("loaddata", fixture.name, verbosity=0)
        rows = []
        for line in lines[1:]:
            event = json.loads(line)
            rows.append(tuple(_stored_value(name, event) for name in EVENT_COLUMNS))
        BulkLedger.insert_events(rows)
        LedgerHead.objects.update_or_create(
            pk=1, defaults={"seq": manifest["head_seq"], "hash": manifest["head_hash"]}
        )
        report = custody_verify()
        if not report.ok:
            raise ArchiveError(f"the restored ledger does not verify: {report.problems[0]}")
    return manifest


def _stored_value(name: str, event: dict):
    if name == "recorded_at":
        return datetime.fromisoformat(event["recorded_at"].replace("Z", "+00:00"))
    return event[name]
