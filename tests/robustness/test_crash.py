"""A process killed in the middle of an operation leaves all of it or none of it.

Each test runs a real operation in another process against the test database — a catalog import
with the `moonvault` command, a plan application, a split into a thousand portions — and kills
it with SIGKILL while its transaction is open, as a power cut or the out-of-memory killer would.
The kill is timed from outside: either from statements the process reports as it runs them (a
wrapper around its database connection, in the script below, not in the product), or at a
fraction of a measured full run; at the moment of the kill the process must still be running
and its write transaction visibly open (SQLite: the database's write lock is held; PostgreSQL:
the backend has a transaction id). Afterwards the database holds none of the operation and the
ledger verifies; the same operation then runs to its end and everything is there.
"""

import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from moonvault.allocation.models import Allocation, AllocationPlan, PlanLine
from moonvault.allocation.services import plan_propose
from moonvault.catalog.models import Sample
from moonvault.custody.models import CustodyEvent
from moonvault.custody.selectors import ledger_head
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM
from tests.robustness.conftest import report, subprocess_env
from tests.rounds import MG, run_round_to_ranking

IMPORT_ROWS = 4_000
PLAN_LINES = 60
SPLIT_CHILDREN = 1_000
POLL = 0.005
MOONVAULT = Path(sys.executable).with_name("moonvault")

pytestmark = [
    pytest.mark.robustness,
    pytest.mark.django_db(transaction=True),
]

# Runs one service in its own process and prints a line after each statement that writes samples
# or custody events, so that the test can kill it part-way through the transaction.
SERVICE_SCRIPT = """
import sys
import django

django.setup()
from django.contrib.auth import get_user_model
from django.db import connection

from moonvault.allocation.services import plan_apply
from moonvault.catalog.services import ChildSpec, sample_split

WRITES = {
    'INSERT INTO "SAMPLES_TABLE"': "samples written",
    'INSERT INTO "EVENTS_TABLE"': "events written",
}


def announce(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    for start, line in WRITES.items():
        if sql.startswith(start):
            print(line, flush=True)
    return result


what, number = sys.argv[1], int(sys.argv[2])
with connection.execute_wrapper(announce):
    if what == "plan":
        chair = get_user_model().objects.get(username="chair")
        plan_apply(actor=chair, plan_id=number)
    else:
        children = [ChildSpec(1_000, identifier=f"CE5S{n:07d}") for n in range(int(sys.argv[3]))]
        sample_split(actor=None, sample_id=number, children=children, loss_ug=7)
print("committed", flush=True)
""".replace("EVENTS_TABLE", CustodyEvent._meta.db_table).replace(
    "SAMPLES_TABLE", Sample._meta.db_table
)


def write_in_progress() -> bool:
    """Whether another process holds an open write transaction on the test database."""
    if connection.vendor == "sqlite":
        probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return False
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return True
        finally:
            probe.close()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        )
        return cursor.fetchone()[0] > 0


def wait_for_other_sessions_to_end(seconds: float = 30) -> None:
    """PostgreSQL rolls a dead client's transaction back when its backend notices; wait for it.
    Idle sessions (kept open by earlier tests' servers) hold no transaction and do not count."""
    if connection.vendor == "sqlite":
        return
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)
    raise AssertionError("the killed process's database session did not end")


@dataclass
class Outcome:
    seconds_to_write: float  # from the start of the process to its write transaction opening
    seconds_writing: float  # from then to its commit (or to the kill)
    output: str


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        env=subprocess_env(),
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_write(process: subprocess.Popen, began: float) -> float:
    while not write_in_progress():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() - began < 40, "the write transaction never opened"
        time.sleep(POLL)
    return time.monotonic()


def run_to_end(args: list[str]) -> Outcome:
    """Run to the end, timing how long the write transaction stays open."""
    began = time.monotonic()
    process = start(args)
    writing = wait_for_write(process, began)
    while write_in_progress() and process.poll() is None:
        time.sleep(POLL)
    committed = time.monotonic()
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return Outcome(writing - began, committed - writing, output)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL, after checking that the operation is still under way.

    SIGSTOP first freezes the process where it is, so that it cannot commit while it is checked.
    """
    process.send_signal(signal.SIGSTOP)
    assert process.poll() is None, "the operation ended before the kill"
    assert write_in_progress(), "no write transaction is open at the kill"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    wait_for_other_sessions_to_end()


def run_and_kill_after(args: list[str], seconds: float) -> Outcome:
    began = time.monotonic()
    process = start(args)
    writing = wait_for_write(process, began)
    time.sleep(seconds)
    killed_at = time.monotonic()
    kill(process)
    return Outcome(writing - began, killed_at - writing, process.stdout.read())


def run_and_kill_after_lines(args: list[str], line: str, count: int) -> Outcome:
    """Kill once the process has printed `line` `count` times."""
    began = time.monotonic()
    process = start(args)
    seen, lines = 0, []
    while seen < count:
        text = process.stdout.readline()
        assert text, "the process ended early:\n" + "".join(lines)
        lines.append(text)
        seen += text.strip() == line
    killed_at = time.monotonic()
    kill(process)
    return Outcome(0.0, killed_at - began, "".join(lines))


def snapshot() -> tuple[int, int, int]:
    return Sample.objects.count(), CustodyEvent.objects.count(), ledger_head().seq


def assert_verifies() -> None:
    verification = custody_verify()
    assert verification.ok, verification.problems


def catalog_file(path: Path, first: int, rows: int) -> Path:
    with path.open("w") as out:
        out.write("Sample ID,Mass\n")
        for n in range(first, first + rows):
            out.write(f"CE5P{n:07d},{1 + n % 50}\n")
    return path


def test_a_catalog_import_killed_part_way_leaves_nothing(tmp_path, mission_ce5, facility):
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\nidentifier = "Sample ID"\nmass = "Mass"\n'
        '[fixed]\nmission = "CE5"\nform = "powder"\nmass_unit = "mg"\n'
    )

    def command(csv: Path) -> list[str]:
        return [
            str(MOONVAULT),
            "import-samples",
            str(csv),
            "--format",
            "mapped",
            "--mapping",
            str(mapping),
            "--location",
            facility.code,
            # The system checks import every page and chart module: seconds of start-up on a
            # busy machine, and nothing to do with what is tested here.
            "--skip-checks",
        ]

    # A full run of one file measures how long the import holds its transaction open.
    full = run_to_end(command(catalog_file(tmp_path / "a.csv", 0, IMPORT_ROWS)))
    assert "Imported in full" in full.output
    before = snapshot()
    assert before[0] == IMPORT_ROWS

    second = command(catalog_file(tmp_path / "b.csv", IMPORT_ROWS, IMPORT_ROWS))
    killed = run_and_kill_after(second, full.seconds_writing / 3)
    assert snapshot() == before
    assert_verifies()

    again = run_to_end(second)
    assert snapshot()[0] == before[0] + IMPORT_ROWS
    assert_verifies()
    report(
        f"import of {IMPORT_ROWS:,} rows killed part-way ({connection.vendor})",
        {
            "full run, transaction open": f"{full.seconds_writing:.2f} s",
            "killed after": f"{killed.seconds_writing:.2f} s in the transaction",
            "samples after the kill": f"{before[0]:,} (unchanged)",
            "second run": f"{again.seconds_writing:.2f} s, {snapshot()[0]:,} samples",
        },
    )


@pytest.fixture
def big_plan(mission_ce5, receive, round_people):
    """The optimizer's plan for a small round, given many more portions to cut and allocate."""
    call, committee, _, sources = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(600, 400), (600, 400), (800, 600)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    outcome = plan.outcomes.filter(lines__isnull=False).first()
    PlanLine.objects.bulk_create(
        PlanLine(outcome=outcome, source=sources[n % 2], mass_ug=MG) for n in range(PLAN_LINES)
    )
    return plan


def test_a_plan_application_killed_half_way_allocates_nothing(big_plan):
    lines = PlanLine.objects.filter(outcome__plan=big_plan).count()
    before = snapshot()
    sources = dict(Sample.objects.filter(parent=None).values_list("pk", "mass_ug"))
    args = [sys.executable, "-c", SERVICE_SCRIPT, "plan", str(big_plan.pk)]
    # Each line is a split and an allocation: two statements writing events.
    killed = run_and_kill_after_lines(args, "events written", lines)

    assert snapshot() == before
    assert dict(Sample.objects.filter(parent=None).values_list("pk", "mass_ug")) == sources
    assert not Allocation.objects.exists()
    big_plan.refresh_from_db()
    assert big_plan.status == AllocationPlan.Status.PROPOSED
    assert_verifies()

    again = run_to_end(args)
    assert Allocation.objects.count() == lines
    big_plan.refresh_from_db()
    assert big_plan.status == AllocationPlan.Status.APPLIED
    assert snapshot()[1] == before[1] + 3 * lines
    assert_verifies()
    report(
        f"plan of {lines} lines killed half-way ({connection.vendor})",
        {
            "killed after": f"{killed.seconds_writing:.2f} s, {lines} of {2 * lines} writes",
            "allocations after the kill": 0,
            "second run": f"{again.seconds_writing:.2f} s, {lines} allocations",
        },
    )


def test_a_split_into_a_thousand_portions_killed_half_way_takes_nothing(mission_ce5, receive):
    parent = receive("CE5C0400YJFM00505", mission_ce5, 20 * GRAM)
    before = snapshot()
    args = [sys.executable, "-c", SERVICE_SCRIPT, "split", str(parent.pk), str(SPLIT_CHILDREN)]
    # The parent's mass comes off, then the children are written, then their events: kill
    # between the children and the events.
    killed = run_and_kill_after_lines(args, "samples written", 1)

    assert snapshot() == before
    parent.refresh_from_db()
    assert parent.mass_ug == 20 * GRAM
    assert_verifies()

    again = run_to_end(args)
    parent.refresh_from_db()
    assert parent.mass_ug == 20 * GRAM - SPLIT_CHILDREN * MG - 7
    assert snapshot()[0] == before[0] + SPLIT_CHILDREN
    assert_verifies()
    report(
        f"split into {SPLIT_CHILDREN:,} killed half-way ({connection.vendor})",
        {
            "killed after": f"{killed.seconds_writing:.2f} s, children written, events not",
            "samples after the kill": f"{before[0]} (unchanged)",
            "second run": f"{again.seconds_writing:.2f} s, {SPLIT_CHILDREN:,} children",
        },
    )
