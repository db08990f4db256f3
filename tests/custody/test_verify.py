"""`custody_verify` and `moonvault verify`: a clean history passes, and every way of rewriting it
is caught and named.

The tampering tests act as someone with direct database rights would: they switch off the
append-only trigger first. The test transaction is rolled back, trigger included.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from moonvault.catalog.models import Form, Pool, Sample, State, path_segment
from moonvault.catalog.services import (
    ChildSpec,
    sample_consume,
    sample_mark_lost,
    sample_move,
    sample_split,
    sample_weigh,
)
from moonvault.custody import chain
from moonvault.custody.chain import canonical_time, event_hash
from moonvault.custody.models import GENESIS_HASH, CustodyEvent, EventKind, LedgerHead
from moonvault.custody.selectors import events_stream
from moonvault.custody.services import PendingEvent, events_record, ledger_lock
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

HASH_EDITED = "its content does not match its hash (edited after writing)"


@pytest.fixture
def history(receive, mission_ce5, mission_a17, cabinet):
    """Nine events over two missions: receive, split with loss, weigh, move, consume, lose."""
    parent = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    first, second = sample_split(
        actor=None,
        sample_id=parent.id,
        children=[ChildSpec(GRAM // 2), ChildSpec(GRAM // 4)],
        loss_ug=1_000,
        reason="嫦娥五号 aliquots, 1 mg lost to the sieve — ±5 µg",
    )
    sample_weigh(actor=None, sample_id=first.id, measured_ug=GRAM // 2 - 40, reason="balance B")
    sample_move(actor=None, sample_id=second.id, location_code=cabinet.code)
    sample_consume(actor=None, sample_id=parent.id, mass_ug=300, technique="SIMS")
    apollo = receive("74001", mission_a17, 5 * GRAM)
    sample_mark_lost(actor=None, sample_id=apollo.id, reason="not found at inventory")
    return {"parent": parent, "first": first, "second": second, "apollo": apollo}


def seq_of(kind):
    return CustodyEvent.objects.get(kind=kind).seq


def unguard_events():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS custody_event_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS custody_event_no_delete")
        else:
            # PostgreSQL alters no table with foreign-key checks still queued in the transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE custody_custodyevent DISABLE TRIGGER custody_event_append_only"
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def tamper(sql, params=()):
    unguard_events()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rehash_from(seq):
    """Recompute the chain from `seq` on and move the head, as a careful forger would."""
    unguard_events()
    previous = CustodyEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    prev = previous or GENESIS_HASH
    for event in CustodyEvent.objects.filter(seq__gte=seq).order_by("seq"):
        values = (
            event.seq,
            prev,
            event.kind,
            event.sample_id,
            event.operation,
            event.mass_delta_ug,
            event.loss_ug,
            event.state_after,
            event.location_after_id,
            event.actor_id,
            canonical_time(event.recorded_at),
            event.reason,
            event.data,
        )
        digest = event_hash(values)
        CustodyEvent.objects.filter(seq=event.seq).update(prev_hash=prev, hash=digest)
        prev = digest
    LedgerHead.objects.filter(pk=1).update(hash=prev)


def verify_fails():
    """Run `moonvault verify`, which must fail; returns its problems as written to stderr."""
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify", stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    problems = err.getvalue().splitlines()
    assert str(caught.value) == f"ledger verification FAILED: {problems[0]}"
    return problems


def test_verify_passes_on_a_clean_history(history):
    report = custody_verify()
    assert report.ok, report.problems
    head = LedgerHead.objects.get(pk=1)
    assert (report.events, report.samples, report.head_seq, report.head_hash) == (
        9,
        4,
        9,
        head.hash,
    )


def test_verify_on_an_empty_ledger_passes(db):
    report = custody_verify()
    assert (report.ok, report.events, report.head_hash) == (True, 0, GENESIS_HASH)


def test_verify_accounts_for_every_microgram_per_mission(history):
    ce5, a17 = (custody_verify().accounts[code] for code in ("CE5", "A17"))
    assert (ce5.received, ce5.corrections, ce5.consumed, ce5.handling_loss) == (
        2 * GRAM,
        -40,
        300,
        1_000,
    )
    assert ce5.by_state[State.STORED] == 2 * GRAM - 1_000 - 300 - 40
    assert ce5.received + ce5.corrections == ce5.held + ce5.consumed + ce5.handling_loss
    assert (a17.received, a17.by_state[State.LOST], a17.held) == (5 * GRAM, 5 * GRAM, 5 * GRAM)


def test_the_verify_command_prints_the_head_and_a_conservation_line_per_mission(history):
    out = StringIO()
    call_command("verify", stdout=out)
    lines = out.getvalue().splitlines()
    head = LedgerHead.objects.get(pk=1)
    assert lines[0].startswith(f"ledger OK: 9 events, 4 samples, head #9 {head.hash} (")
    assert lines[1:] == [
        "  A17: received 5 g = held (lost 5 g) + consumed 0 µg + handling loss 0 µg "
        "− corrections 0 µg",
        "  CE5: received 2 g = held (stored 1.99866 g) + consumed 300 µg + handling loss 1 mg "
        "− corrections -40 µg",
    ]


def test_an_auditor_reproduces_every_hash_from_the_documented_serialization(history):
    prev = GENESIS_HASH
    for event in CustodyEvent.objects.order_by("seq"):
        fields = [
            event.seq,
            event.prev_hash,
            event.kind,
            event.sample_id,
            event.operation,
            event.mass_delta_ug,
            event.loss_ug,
            event.state_after,
            event.location_after_id,
            event.actor_id,
            event.recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            event.reason,
            event.data,
        ]
        text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
        assert event.prev_hash == prev
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == event.hash
        prev = event.hash
    assert LedgerHead.objects.get(pk=1).hash == prev


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("mass_delta_ug", -1),
        ("loss_ug", 0),
        ("reason", "sieve was clean"),
        ("data", '{"children":[]}'),
        ("location_after_id", None),
    ],
)
def test_an_edited_event_is_detected_and_named(history, column, value):
    seq = seq_of(EventKind.SPLIT)
    tamper(f"UPDATE custody_custodyevent SET {column} = %s WHERE seq = %s", [value, seq])
    problems = verify_fails()
    assert problems[0] == f"event #{seq}: {HASH_EDITED}"


def test_an_edit_with_its_own_hash_recomputed_breaks_the_link_to_the_next_event(history):
    seq = seq_of(EventKind.WEIGHED)
    tamper("UPDATE custody_custodyevent SET reason = %s WHERE seq = %s", ["routine", seq])
    event = CustodyEvent.objects.get(seq=seq)
    values = [getattr(event, f) for f in ("seq", "prev_hash", "kind", "sample_id", "operation")]
    values += [event.mass_delta_ug, event.loss_ug, event.state_after, event.location_after_id]
    values += [event.actor_id, canonical_time(event.recorded_at), event.reason, event.data]
    tamper(
        "UPDATE custody_custodyevent SET hash = %s WHERE seq = %s", [event_hash(tuple(values)), seq]
    )
    problems = verify_fails()
    assert problems[0] == f"event #{seq + 1}: its previous-hash does not match event #{seq}"


def test_a_rewritten_mass_is_caught_by_replay_even_when_the_whole_chain_is_rehashed(history):
    seq = seq_of(EventKind.CONSUMED)
    tamper("UPDATE custody_custodyevent SET mass_delta_ug = -200 WHERE seq = %s", [seq])
    rehash_from(seq)
    parent = history["parent"]
    parent.refresh_from_db()
    problems = verify_fails()
    assert problems[0] == (
        f"sample {parent.id}: stored mass_ug is {parent.mass_ug} but the ledger gives "
        f"{parent.mass_ug + 100}"
    )
    assert problems[1].startswith("mission CE5: received 2000000 µg but held")


def test_a_fully_consistent_forgery_changes_the_head_hash_an_auditor_noted(history):
    noted = custody_verify().head_hash
    parent = history["parent"]
    parent.refresh_from_db()
    seq = seq_of(EventKind.CONSUMED)
    tamper("UPDATE custody_custodyevent SET mass_delta_ug = -200 WHERE seq = %s", [seq])
    rehash_from(seq)
    Sample.objects.filter(pk=parent.pk).update(mass_ug=parent.mass_ug + 100)
    report = custody_verify()
    assert report.ok
    assert report.head_hash != noted


def test_a_removed_event_is_detected(history):
    seq = seq_of(EventKind.MOVED)
    tamper("DELETE FROM custody_custodyevent WHERE seq = %s", [seq])
    problems = verify_fails()
    assert problems[0] == f"event #{seq + 1}: expected #{seq} next; events are missing or inserted"
    assert problems[1] == f"event #{seq + 1}: its previous-hash does not match event #{seq}"


def test_a_removed_last_event_is_detected_by_the_head(history):
    tamper("DELETE FROM custody_custodyevent WHERE seq = 9")
    problems = verify_fails()
    assert problems[0] == (
        "ledger head says #9 but the chain ends at #8; events were removed or the head was altered"
    )


def test_a_reordered_chain_is_detected_by_the_previous_hash(history):
    first, second = seq_of(EventKind.WEIGHED), seq_of(EventKind.MOVED)
    parked = 1_000_000
    tamper("UPDATE custody_custodyevent SET seq = %s WHERE seq = %s", [parked, first])
    tamper("UPDATE custody_custodyevent SET seq = %s WHERE seq = %s", [first, second])
    tamper("UPDATE custody_custodyevent SET seq = %s WHERE seq = %s", [second, parked])
    problems = verify_fails()
    assert problems[:2] == [
        f"event #{first}: its previous-hash does not match event #{first - 1}",
        f"event #{first}: {HASH_EDITED}",
    ]


@pytest.mark.parametrize(
    ("attribute", "stored", "replayed"),
    [
        ("mass_ug", GRAM // 2, GRAM // 2 - 40),
        ("state", "on_loan", "stored"),
        ("pool", "public_benefit", "research"),
        ("form", "powder", "scooped_regolith"),
    ],
)
def test_a_sample_changed_outside_the_services_is_named_with_the_attribute(
    history, attribute, stored, replayed
):
    first = history["first"]
    Sample.objects.filter(pk=first.pk).update(**{attribute: stored})
    problems = verify_fails()
    assert problems[0] == (
        f"sample {first.id}: stored {attribute} is {stored!r} but the ledger gives {replayed!r}"
    )


def test_a_sample_created_outside_the_services_is_detected(history, mission_ce5, facility):
    row = Sample.objects.create(
        id=10_000,
        identifier="CE5-FORGED",
        mission=mission_ce5,
        path=path_segment(10_000),
        form=Form.POWDER,
        pool=Pool.RESEARCH,
        state=State.STORED,
        location=facility,
        mass_ug=GRAM,
    )
    problems = verify_fails()
    assert problems[0] == f"sample {row.id}: has no custody events"
    assert problems[1].startswith("mission CE5: received 2000000 µg but held 2998660 + consumed")


def test_an_unbalanced_split_is_detected(history):
    # A faulty service that takes more from the parent than it gives its child.
    parent = Sample.objects.get(pk=history["second"].pk)
    with transaction.atomic():
        head = ledger_lock()
        parent.mass_ug -= 1_000
        parent.save(update_fields=["mass_ug"])
        child = Sample.objects.create(
            id=10_000,
            identifier=f"{parent.identifier}-1",
            mission=parent.mission,
            parent=parent,
            path=parent.path + path_segment(10_000),
            depth=parent.depth + 1,
            form=parent.form,
            pool=parent.pool,
            state=parent.state,
            location=parent.location,
            mass_ug=990,
        )
        creation = {
            "identifier": child.identifier,
            "mission": "CE5",
            "parent": parent.id,
            "form": child.form,
            "pool": child.pool,
            "pristine": True,
        }
        [split, _] = events_record(
            actor=None,
            head=head,
            events=[
                PendingEvent(parent, EventKind.SPLIT, mass_delta_ug=-1_000),
                PendingEvent(child, EventKind.SPLIT_OFF, mass_delta_ug=990, data=creation),
            ],
        )
    problems = verify_fails()
    assert problems[0] == (
        f"split {split.operation}: children and loss differ from the mass taken by -10 µg"
    )
    assert problems[1].startswith("mission CE5: received 2000000 µg but held")


def test_verify_stops_after_the_requested_number_of_problems(history):
    tamper("UPDATE custody_custodyevent SET reason = 'x'")
    assert len(custody_verify(max_problems=3).problems) == 3


@pytest.mark.parametrize(
    "values",
    [
        (1, GENESIS_HASH, "received", 7, "ab" * 16, 2_000_000, 0, "stored", 3, None, "t", "", "{}"),
        (
            2,
            "f" * 64,
            "split",
            12_345_678,
            "op",
            -5,
            1,
            "on_loan",
            None,
            4,
            "2024-06-25T06:07:08.000009Z",
            'quote " backslash \\ tab \t newline \n nul \x00 bell \x07 del \x7f 嫦娥 ±µ \u2028',
            '{"children":[3,4],"note":"a\\"b"}',
        ),
    ],
)
def test_the_fast_serialization_is_the_documented_json(values):
    documented = json.dumps(list(values), ensure_ascii=False, separators=(",", ":")).encode()
    assert chain.event_bytes(values) == documented


@given(
    st.dictionaries(
        st.text(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)
            ),
            max_leaves=12,
        ),
        max_size=6,
    )
)
def test_canonical_data_is_sorted_compact_json(data):
    expected = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert chain.canonical_data(data) == (expected if data else "{}")


@given(
    st.text(),
    st.text(),
    st.none() | st.integers(min_value=1),
    st.text(),
    st.text(),
    st.booleans(),
)
def test_the_written_out_creation_data_is_its_canonical_text(
    identifier, mission, parent, form, pool, pristine
):
    fields = (identifier, mission, parent, form, pool, pristine)
    assert chain.creation_text(*fields) == chain.canonical_data(chain.creation_data(*fields))


def test_canonical_time_is_utc_whatever_the_zone_given():
    moment = datetime(2024, 6, 25, 8, 7, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    assert canonical_time(moment) == "2024-06-25T06:07:08.000009Z"
    assert canonical_time(moment.astimezone(UTC)) == "2024-06-25T06:07:08.000009Z"
    assert canonical_time(datetime(2024, 6, 25, 6, 7, 8)) == "2024-06-25T06:07:08.000000Z"


def test_a_mass_change_by_a_kind_that_cannot_change_mass_is_detected(history):
    seq = seq_of(EventKind.MOVED)
    tamper("UPDATE custody_custodyevent SET mass_delta_ug = 5 WHERE seq = %s", [seq])
    rehash_from(seq)
    problems = verify_fails()
    assert f"event #{seq}: a moved event changes mass by 5 µg" in problems


def test_verify_reads_the_ledger_in_batches_with_the_same_result(history):
    whole = custody_verify()
    replay = chain.Replay(lambda text: pytest.fail(text))
    for row in events_stream():
        replay.feed(row)
    assert (replay.events, replay.head_seq, replay.head_hash) == (
        whole.events,
        whole.head_seq,
        whole.head_hash,
    )
    first = history["first"]
    first.refresh_from_db()
    assert replay.replayed(first.id) == (
        first.mass_ug,
        first.state,
        first.location_id,
        first.parent_id,
        "CE5",
        first.pool,
        first.form,
        first.pristine,
    )
    assert replay.replayed(10_000_000) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", "1"), ("mass_delta_ug", 2_000_000.0), ("location_after_id", True), ("reason", 1)],
)
def test_the_standalone_verifier_refuses_a_field_of_the_wrong_type(history, tmp_path, field, value):
    path = tmp_path / "ledger.jsonl"
    call_command("export-ledger", str(path))
    lines = path.read_text().splitlines()
    event = json.loads(lines[1])
    event[field] = value
    path.write_text("\n".join([lines[0], json.dumps(event), *lines[2:]]) + "\n")
    _, problems, _ = chain.verify_file(str(path))
    assert problems[0] == "line 2: not a ledger event"
