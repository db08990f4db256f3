"""Export, independent verification, backup and restore of the ledger."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

import moonvault.custody.chain as chain
from moonvault.accounts.models import Institution, Person
from moonvault.catalog.models import IdentifierCounter, Mission, Sample, StorageLocation
from moonvault.catalog.services import ChildSpec, sample_consume, sample_split, sample_weigh
from moonvault.custody.archive import ArchiveError, backup_restore, backup_write
from moonvault.custody.models import CustodyEvent, LedgerHead
from moonvault.custody.selectors import ledger_head
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM


@pytest.fixture
def history(receive, mission_ce5, mission_a17):
    root = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    rock = receive("74001", mission_a17, 5 * GRAM)
    (child,) = sample_split(actor=None, sample_id=root.id, children=[ChildSpec(GRAM)], loss_ug=7)
    sample_weigh(actor=None, sample_id=child.id, measured_ug=GRAM - 3, reason="re-weighed")
    sample_consume(actor=None, sample_id=rock.id, mass_ug=GRAM, technique="SIMS")
    return root


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.jsonl"
    call_command("export-ledger", str(path))
    return path


def test_the_standalone_verifier_checks_an_export_without_django(history, tmp_path):
    path = _export(tmp_path)
    script = Path(chain.__file__)
    # A fresh interpreter that cannot import Django or Moonvault: the auditor's situation.
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(script), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    head = ledger_head()
    assert f"ledger OK: {head.seq} events, head #{head.seq} {head.hash}" in result.stdout
    assert "CE5: received 2000000 + corrections -3" in result.stdout


def test_the_standalone_verifier_names_an_edited_and_a_truncated_export(history, tmp_path):
    path = _export(tmp_path)
    lines = path.read_text().splitlines()
    event = json.loads(lines[2])
    event["mass_delta_ug"] += 1
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join([lines[0], lines[1], json.dumps(event), *lines[3:]]) + "\n")
    _, problems, _ = chain.verify_file(str(edited))
    assert (
        problems[0] == f"event #{event['seq']}: its content does not match its hash "
        "(edited after writing)"
    )

    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:-1]) + "\n")
    _, problems, _ = chain.verify_file(str(truncated))
    assert any("truncated" in p for p in problems)


def test_a_backup_restores_into_an_empty_database_with_the_same_head(history, tmp_path):
    archive = tmp_path / "backup.zip"
    call_command("backup", str(archive))
    head = ledger_head()
    samples = list(Sample.objects.order_by("pk").values_list("pk", "identifier", "mass_ug"))
    _empty_the_database()
    assert not Sample.objects.exists()
    call_command("restore", str(archive))
    restored = ledger_head()
    assert (restored.seq, restored.hash) == (head.seq, head.hash)
    assert list(Sample.objects.order_by("pk").values_list("pk", "identifier", "mass_ug")) == samples
    assert custody_verify().ok


def test_a_restore_refuses_a_non_empty_database(history, tmp_path):
    archive = tmp_path / "backup.zip"
    backup_write(str(archive))
    with pytest.raises(ArchiveError, match="not empty"):
        backup_restore(str(archive))


@pytest.mark.parametrize("damage", ["truncate", "flip", "not_a_zip", "missing"])
def test_a_damaged_backup_is_refused_with_a_clear_message(history, tmp_path, damage):
    archive = tmp_path / "backup.zip"
    backup_write(str(archive))
    if damage == "truncate":
        data = archive.read_bytes()
        archive.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        with zipfile.ZipFile(archive) as z:
            members = {n: z.read(n) for n in z.namelist()}
        members["state.json"] = members["state.json"].replace(b"CE5C0400", b"CE5C0401", 1)
        with zipfile.ZipFile(archive, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
    elif damage == "not_a_zip":
        archive.write_text("hello")
    else:
        archive.unlink()
    _empty_the_database()
    with pytest.raises(CommandError, match="restore refused"):
        call_command("restore", str(archive))
    assert not Sample.objects.exists()


def _empty_the_database() -> None:
    """Delete everything the backup holds, leaving what a freshly migrated database has."""
    with connection.cursor() as cursor:
        _lift_triggers(cursor)
        CustodyEvent.objects.all().delete()
        _restore_triggers(cursor)
    LedgerHead.objects.all().delete()
    Sample.objects.update(parent=None)
    Sample.objects.all().delete()
    IdentifierCounter.objects.all().delete()
    StorageLocation.objects.update(parent=None)
    StorageLocation.objects.all().delete()
    Mission.objects.all().delete()
    Person.objects.all().delete()
    User.objects.all().delete()
    Institution.objects.all().delete()


def _lift_triggers(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE custody_custodyevent DISABLE TRIGGER custody_event_append_only")
    else:
        cursor.execute("DROP TRIGGER custody_event_no_delete")


def _restore_triggers(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("ALTER TABLE custody_custodyevent ENABLE TRIGGER custody_event_append_only")
    else:
        cursor.execute(
            "CREATE TRIGGER custody_event_no_delete BEFORE DELETE ON custody_custodyevent "
            "BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END"
        )
