"""The inventory services: what each one changes, and that every refusal names its field and
leaves the inventory, the identifier counters and the ledger exactly as they were."""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moonvault.catalog.models import (
    Form,
    IdentifierCounter,
    Pool,
    Sample,
    State,
)
from moonvault.catalog.services import (
    ChildSpec,
    NewSample,
    sample_consume,
    sample_mark_lost,
    sample_move,
    sample_reassign_pool,
    sample_receive,
    sample_split,
    sample_weigh,
    samples_receive,
)
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.custody.models import CustodyEvent, EventKind, LedgerHead
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

CE5_ID = "CE5C0400YJFM00505"


def inventory_state():
    return (
        sorted(
            Sample.objects.values_list(
                "id", "identifier", "mass_ug", "state", "location_id", "pool"
            )
        ),
        sorted(IdentifierCounter.objects.values_list("prefix", "last")),
        LedgerHead.objects.values_list("seq", "hash").get(pk=1),
    )


@contextmanager
def refused(error, *, field, message):
    """The call inside must raise exactly `error` about `field` and change nothing at all."""
    before = inventory_state()
    with pytest.raises(DomainError) as caught:
        yield
    assert type(caught.value) is error
    assert [p.field for p in caught.value.problems] == [field]
    assert message in caught.value.message
    assert inventory_state() == before


def new_sample(mission, location, **changes):
    values = {
        "identifier": CE5_ID,
        "mission": mission,
        "form": Form.SCOOPED_REGOLITH,
        "pool": Pool.RESEARCH,
        "mass_ug": 2 * GRAM,
        "location": location,
    }
    return NewSample(**(values | changes))


def events_of(sample):
    return list(CustodyEvent.objects.filter(sample=sample).order_by("seq"))


def ledger_verifies():
    report = custody_verify()
    assert report.ok, report.problems
    return report


@pytest.fixture
def parent(receive, mission_ce5):
    return receive(CE5_ID, mission_ce5, 2 * GRAM)


@pytest.fixture
def consumed(parent):
    return sample_consume(actor=None, sample_id=parent.id, mass_ug=2 * GRAM, technique="ICP-MS")


@pytest.fixture
def lost(parent):
    return sample_mark_lost(actor=None, sample_id=parent.id, reason="not on its shelf at inventory")


# Receiving


def test_receive_stores_the_sample_and_records_its_mass(mission_ce5, facility, curator):
    sample = sample_receive(
        actor=curator, new=new_sample(mission_ce5, facility), reason="returned capsule"
    )
    sample.refresh_from_db()
    assert (sample.state, sample.location, sample.mass_ug, sample.depth) == (
        State.STORED,
        facility,
        2 * GRAM,
        0,
    )
    [event] = events_of(sample)
    assert (event.kind, event.mass_delta_ug, event.actor_id, event.reason) == (
        EventKind.RECEIVED,
        2 * GRAM,
        curator.id,
        "returned capsule",
    )
    ledger_verifies()


def test_receiving_a_batch_records_one_operation(mission_ce5, facility):
    rows = samples_receive(
        actor=None,
        samples=[new_sample(mission_ce5, facility, identifier=f"CE5Z000{i}") for i in range(3)],
    )
    events = CustodyEvent.objects.filter(sample__in=rows)
    assert events.count() == 3
    assert len({e.operation for e in events}) == 1
    assert ledger_verifies().accounts["CE5"].received == 6 * GRAM


def test_receive_strips_surrounding_spaces_from_the_identifier(mission_ce5, facility):
    sample = sample_receive(actor=None, new=new_sample(mission_ce5, facility, identifier=" CE5Z1 "))
    assert sample.identifier == "CE5Z1"


@pytest.mark.parametrize(
    ("mass", "message"),
    [
        (0, "greater than zero"),
        (-1, "must not be negative"),
        (1.5, "whole number of micrograms"),
        (Decimal("2"), "whole number of micrograms"),
        ("2000000", "whole number of micrograms"),
        (True, "whole number of micrograms"),
    ],
)
def test_receive_rejects_a_mass_that_is_not_a_positive_whole_number_of_micrograms(
    parent, mission_ce5, facility, mass, message
):
    with refused(DomainError, field="mass_ug", message=message):
        sample_receive(
            actor=None, new=new_sample(mission_ce5, facility, identifier="CE5Z2", mass_ug=mass)
        )


def test_receive_rejects_an_unknown_form(parent, mission_ce5, facility):
    with refused(DomainError, field="form", message="'moon_cheese' is not one of"):
        sample_receive(
            actor=None, new=new_sample(mission_ce5, facility, identifier="X1", form="moon_cheese")
        )


def test_receive_rejects_an_unknown_pool(parent, mission_ce5, facility):
    with refused(DomainError, field="pool", message="'private' is not one of"):
        sample_receive(
            actor=None, new=new_sample(mission_ce5, facility, identifier="X1", pool="private")
        )


def test_receive_rejects_a_sample_without_a_location(parent, mission_ce5):
    with refused(DomainError, field="location", message="needs a storage location"):
        sample_receive(actor=None, new=new_sample(mission_ce5, None, identifier="X1"))


@pytest.mark.parametrize(
    ("identifier", "message"),
    [("", "identifier is required"), ("   ", "identifier is required"), ("CE5 C04", "spaces")],
)
def test_receive_rejects_a_blank_or_spaced_identifier(
    parent, mission_ce5, facility, identifier, message
):
    with refused(DomainError, field="identifier", message=message):
        sample_receive(actor=None, new=new_sample(mission_ce5, facility, identifier=identifier))


def test_receive_rejects_an_identifier_already_in_use(parent, mission_ce5, facility):
    with refused(Conflict, field="identifier", message=f"{CE5_ID!r} is already in use"):
        sample_receive(actor=None, new=new_sample(mission_ce5, facility))


def test_receiving_a_batch_names_the_sample_that_repeats_an_identifier(
    parent, mission_ce5, facility
):
    batch = [new_sample(mission_ce5, facility, identifier=i) for i in ("CE5Z1", "CE5Z2", "CE5Z1")]
    with refused(Conflict, field="samples[2].identifier", message="already in use"):
        samples_receive(actor=None, samples=batch)


def test_receiving_a_batch_with_one_bad_sample_registers_none_of_them(
    parent, mission_ce5, facility
):
    batch = [
        new_sample(mission_ce5, facility, identifier="CE5Z1"),
        new_sample(mission_ce5, facility, identifier="CE5Z2", mass_ug=0),
    ]
    with refused(DomainError, field="samples[1].mass_ug", message="greater than zero"):
        samples_receive(actor=None, samples=batch)


# Splitting


def test_split_takes_children_and_loss_from_the_parent(parent, cabinet):
    children = sample_split(
        actor=None,
        sample_id=parent.id,
        children=[ChildSpec(GRAM // 2), ChildSpec(GRAM // 4, form=Form.POWDER, location=cabinet)],
        loss_ug=1_000,
        reason="aliquots for round 3",
    )
    parent.refresh_from_db()
    assert parent.mass_ug == 2 * GRAM - GRAM // 2 - GRAM // 4 - 1_000
    first, second = (Sample.objects.get(pk=c.pk) for c in children)
    assert (first.form, first.location_id, first.pool) == (
        Form.SCOOPED_REGOLITH,
        parent.location_id,
        Pool.RESEARCH,
    )
    assert (second.form, second.location, second.mass_ug) == (Form.POWDER, cabinet, GRAM // 4)
    assert {first.parent_id, second.parent_id} == {parent.id}
    [_, split] = events_of(parent)
    assert (split.kind, split.mass_delta_ug, split.loss_ug) == (
        EventKind.SPLIT,
        -(GRAM // 2 + GRAM // 4 + 1_000),
        1_000,
    )
    [born] = events_of(first)
    assert (born.kind, born.operation) == (EventKind.SPLIT_OFF, split.operation)
    assert ledger_verifies().accounts["CE5"].handling_loss == 1_000


def test_split_may_take_the_whole_parent(parent):
    sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(2 * GRAM - 5)], loss_ug=5)
    parent.refresh_from_db()
    assert (parent.mass_ug, parent.state) == (0, State.STORED)
    ledger_verifies()


def test_split_rejects_children_heavier_than_the_parent(parent):
    with refused(Conflict, field="children", message=f"exceed the mass of {CE5_ID}"):
        sample_split(
            actor=None, sample_id=parent.id, children=[ChildSpec(GRAM), ChildSpec(GRAM + 1)]
        )


def test_split_rejects_a_handling_loss_that_makes_the_total_exceed_the_parent(parent):
    with refused(Conflict, field="children", message="children and handling loss (2000001 µg)"):
        sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM)], loss_ug=GRAM + 1)


@pytest.mark.parametrize(
    ("mass", "message"),
    [(0, "greater than zero"), (-5, "must not be negative"), (0.5, "whole number")],
)
def test_split_rejects_a_child_mass_that_is_not_a_positive_whole_number(parent, mass, message):
    with refused(DomainError, field="children[1].mass_ug", message=message):
        sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM), ChildSpec(mass)])


@pytest.mark.parametrize(
    ("loss", "message"), [(-1, "must not be negative"), (1.0, "whole number of micrograms")]
)
def test_split_rejects_a_negative_or_fractional_loss(parent, loss, message):
    with refused(DomainError, field="loss_ug", message=message):
        sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM)], loss_ug=loss)


def test_split_rejects_an_empty_list_of_children(parent):
    with refused(DomainError, field="children", message="at least one child"):
        sample_split(actor=None, sample_id=parent.id, children=[])


def test_split_rejects_an_unknown_form_or_pool_for_a_child(parent):
    with refused(DomainError, field="children[0].form", message="'dust' is not one of"):
        sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM, form="dust")])
    with refused(DomainError, field="children[0].pool", message="'private' is not one of"):
        sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM, pool="private")])


def test_split_rejects_a_consumed_sample(consumed):
    with refused(Conflict, field="sample", message="is consumed and cannot be split"):
        sample_split(actor=None, sample_id=consumed.id, children=[ChildSpec(1)])


def test_split_rejects_a_lost_sample(lost):
    with refused(Conflict, field="sample", message="is lost and cannot be split"):
        sample_split(actor=None, sample_id=lost.id, children=[ChildSpec(1)])


def test_split_of_a_sample_that_does_not_exist_is_not_found(parent):
    with refused(NotFound, field="sample", message="sample 999999 does not exist"):
        sample_split(actor=None, sample_id=999_999, children=[ChildSpec(1)])


# Identifier conventions


def split_ids(sample, count=1, **kwargs):
    children = [ChildSpec(1_000, **kwargs) for _ in range(count)]
    return [c.identifier for c in sample_split(actor=None, sample_id=sample.id, children=children)]


def test_apollo_splits_number_from_the_generic_sample(receive, mission_a17):
    generic = receive("74001", mission_a17, 5 * GRAM)
    assert split_ids(generic, 2) == ["74001,1", "74001,2"]


def test_an_apollo_split_of_a_split_continues_the_generic_numbering(receive, mission_a17):
    generic = receive("74001", mission_a17, 5 * GRAM)
    first = sample_split(actor=None, sample_id=generic.id, children=[ChildSpec(GRAM)])[0]
    split_ids(generic)
    assert first.identifier == "74001,1"
    assert split_ids(first) == ["74001,3"]


def test_a_received_apollo_split_number_moves_the_numbering_past_it(receive, mission_a17):
    receive("74001", mission_a17, 5 * GRAM)
    received = receive("74001,6040", mission_a17, GRAM)
    assert split_ids(received) == ["74001,6041"]


def test_a_received_apollo_split_number_with_surrounding_spaces_counts_too(mission_a17, facility):
    new = new_sample(mission_a17, facility, identifier=" 74001,6040 ")
    received = sample_receive(actor=None, new=new)
    assert received.identifier == "74001,6040"
    assert split_ids(received) == ["74001,6041"]


def test_suffix_splits_append_a_hyphen_and_a_sequence_number(parent):
    assert split_ids(parent, 2) == [f"{CE5_ID}-1", f"{CE5_ID}-2"]
    child = Sample.objects.get(identifier=f"{CE5_ID}-1")
    assert split_ids(child) == [f"{CE5_ID}-1-1"]


def test_a_given_child_identifier_is_kept_and_numbering_skips_it(parent):
    assert split_ids(parent, identifier=f"{CE5_ID}-1") == [f"{CE5_ID}-1"]
    assert split_ids(parent) == [f"{CE5_ID}-2"]


def test_numbering_skips_an_identifier_given_earlier_in_the_same_split(parent):
    children = [ChildSpec(1_000, identifier=f"{CE5_ID}-1"), ChildSpec(1_000)]
    made = sample_split(actor=None, sample_id=parent.id, children=children)
    assert [c.identifier for c in made] == [f"{CE5_ID}-1", f"{CE5_ID}-2"]


def test_split_rejects_a_given_identifier_already_in_use(parent):
    split_ids(parent)
    with refused(Conflict, field="children[0].identifier", message=f"'{CE5_ID}-1' is already"):
        split_ids(parent, identifier=f"{CE5_ID}-1")


def test_numbering_skips_an_identifier_given_later_in_the_same_split(parent):
    children = [ChildSpec(1_000), ChildSpec(1_000, identifier=f"{CE5_ID}-1"), ChildSpec(1_000)]
    made = sample_split(actor=None, sample_id=parent.id, children=children)
    assert [c.identifier for c in made] == [f"{CE5_ID}-2", f"{CE5_ID}-1", f"{CE5_ID}-3"]
    assert split_ids(parent) == [f"{CE5_ID}-4"]


def test_numbering_skips_identifiers_already_in_use_in_one_pass(parent, mission_ce5, facility):
    for n in (2, 3, 5):
        sample_receive(
            actor=None, new=new_sample(mission_ce5, facility, identifier=f"{CE5_ID}-{n}")
        )
    assert split_ids(parent, 4) == [f"{CE5_ID}-{n}" for n in (1, 4, 6, 7)]
    assert IdentifierCounter.objects.get(prefix=CE5_ID).last == 7


def test_a_split_costs_the_same_queries_for_three_children_as_for_forty(parent):
    def queries(count: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            split_ids(parent, count)
        return len(captured.captured_queries)

    split_ids(parent)  # the parent's identifier counter exists from here on
    assert queries(3) == queries(40)


def test_receive_rejects_an_identifier_that_the_apollo_convention_already_gave(
    receive, mission_a17, facility
):
    generic = receive("74001", mission_a17, 5 * GRAM)
    split_ids(generic)
    with refused(Conflict, field="identifier", message="'74001,1' is already in use"):
        sample_receive(actor=None, new=new_sample(mission_a17, facility, identifier="74001,1"))


# Weighing


def test_weighing_without_a_difference_needs_no_reason(parent):
    sample_weigh(actor=None, sample_id=parent.id, measured_ug=2 * GRAM)
    [_, event] = events_of(parent)
    assert (event.kind, event.mass_delta_ug) == (EventKind.WEIGHED, 0)


def test_weighing_records_the_difference_as_a_correction(parent):
    sample_weigh(actor=None, sample_id=parent.id, measured_ug=2 * GRAM - 40, reason="balance B")
    parent.refresh_from_db()
    assert parent.mass_ug == 2 * GRAM - 40
    assert ledger_verifies().accounts["CE5"].corrections == -40


def test_weighing_rejects_a_change_of_mass_without_a_reason(parent):
    with refused(DomainError, field="reason", message="needs a reason"):
        sample_weigh(actor=None, sample_id=parent.id, measured_ug=GRAM, reason="  ")


@pytest.mark.parametrize(
    ("measured", "message"), [(-1, "must not be negative"), (1.25, "whole number")]
)
def test_weighing_rejects_a_negative_or_fractional_reading(parent, measured, message):
    with refused(DomainError, field="measured_ug", message=message):
        sample_weigh(actor=None, sample_id=parent.id, measured_ug=measured, reason="balance B")


def test_weighing_rejects_a_consumed_sample(consumed):
    with refused(Conflict, field="sample", message="is consumed and cannot be weighed"):
        sample_weigh(actor=None, sample_id=consumed.id, measured_ug=10, reason="found dust")


def test_weighing_rejects_a_lost_sample(lost):
    with refused(Conflict, field="sample", message="is lost and cannot be weighed"):
        sample_weigh(actor=None, sample_id=lost.id, measured_ug=10, reason="found")


# Moving


def test_move_changes_the_location_and_records_where_the_sample_went(parent, cabinet):
    sample_move(actor=None, sample_id=parent.id, location_code=cabinet.code, reason="to nitrogen")
    parent.refresh_from_db()
    assert parent.location == cabinet
    [_, event] = events_of(parent)
    assert (event.kind, event.location_after_id, event.mass_delta_ug) == (
        EventKind.MOVED,
        cabinet.id,
        0,
    )
    ledger_verifies()


def test_move_to_a_location_that_does_not_exist_is_not_found(parent):
    with refused(NotFound, field="location", message="'NOWHERE' does not exist"):
        sample_move(actor=None, sample_id=parent.id, location_code="NOWHERE")


def test_move_rejects_a_sample_that_is_not_in_storage(lost, cabinet):
    with refused(Conflict, field="sample", message="not in storage"):
        sample_move(actor=None, sample_id=lost.id, location_code=cabinet.code)


def test_move_rejects_the_location_the_sample_is_already_in(parent, facility):
    with refused(Conflict, field="location", message=f"already in {facility.code}"):
        sample_move(actor=None, sample_id=parent.id, location_code=facility.code)


def test_move_of_a_sample_that_does_not_exist_is_not_found(parent, cabinet):
    with refused(NotFound, field="sample", message="does not exist"):
        sample_move(actor=None, sample_id=parent.id + 1000, location_code=cabinet.code)


# Consuming


def test_consuming_part_of_a_sample_keeps_it_in_storage(parent):
    sample_consume(actor=None, sample_id=parent.id, mass_ug=300, technique=" SIMS ")
    parent.refresh_from_db()
    assert (parent.mass_ug, parent.state) == (2 * GRAM - 300, State.STORED)
    [_, event] = events_of(parent)
    assert (event.mass_delta_ug, event.data) == (-300, '{"technique":"SIMS"}')
    assert ledger_verifies().accounts["CE5"].consumed == 300


def test_consuming_all_of_a_sample_marks_it_consumed_and_frees_its_place(consumed):
    consumed.refresh_from_db()
    assert (consumed.mass_ug, consumed.state, consumed.location) == (0, State.CONSUMED, None)
    ledger_verifies()


def test_consuming_rejects_more_than_the_sample_holds(parent):
    with refused(Conflict, field="mass_ug", message=f"holds {2 * GRAM} µg"):
        sample_consume(actor=None, sample_id=parent.id, mass_ug=2 * GRAM + 1, technique="TIMS")


@pytest.mark.parametrize(
    ("mass", "message"), [(0, "greater than zero"), (-3, "must not be negative"), (2.0, "whole")]
)
def test_consuming_rejects_a_mass_that_is_not_a_positive_whole_number(parent, mass, message):
    with refused(DomainError, field="mass_ug", message=message):
        sample_consume(actor=None, sample_id=parent.id, mass_ug=mass, technique="TIMS")


def test_consuming_rejects_a_missing_technique(parent):
    with refused(DomainError, field="technique", message="technique"):
        sample_consume(actor=None, sample_id=parent.id, mass_ug=1, technique=" ")


def test_consuming_rejects_a_lost_sample(lost):
    with refused(Conflict, field="sample", message="is lost and cannot be consumed"):
        sample_consume(actor=None, sample_id=lost.id, mass_ug=1, technique="TIMS")


# Losing


def test_a_lost_sample_keeps_its_mass_accounted_as_lost(lost):
    lost.refresh_from_db()
    assert (lost.state, lost.location, lost.mass_ug) == (State.LOST, None, 2 * GRAM)
    assert ledger_verifies().accounts["CE5"].by_state[State.LOST] == 2 * GRAM


def test_marking_lost_twice_is_refused(lost):
    with refused(Conflict, field="sample", message="is already lost"):
        sample_mark_lost(actor=None, sample_id=lost.id, reason="still missing")


def test_marking_a_consumed_sample_lost_is_refused(consumed):
    with refused(Conflict, field="sample", message="is already consumed"):
        sample_mark_lost(actor=None, sample_id=consumed.id, reason="cannot find it")


def test_marking_lost_needs_a_reason(parent):
    with refused(DomainError, field="reason", message="how the sample was lost"):
        sample_mark_lost(actor=None, sample_id=parent.id, reason="")


# Purpose pools


def test_reassigning_a_pool_is_recorded_and_replayed(parent):
    sample_reassign_pool(
        actor=None, sample_id=parent.id, pool=Pool.PUBLIC_BENEFIT, reason="exhibition"
    )
    parent.refresh_from_db()
    assert parent.pool == Pool.PUBLIC_BENEFIT
    [_, event] = events_of(parent)
    assert event.kind == EventKind.RECLASSIFIED
    ledger_verifies()


def test_reassigning_rejects_an_unknown_pool(parent):
    with refused(DomainError, field="pool", message="'display' is not one of"):
        sample_reassign_pool(actor=None, sample_id=parent.id, pool="display", reason="why not")


def test_reassigning_rejects_the_pool_the_sample_is_already_in(parent):
    with refused(Conflict, field="pool", message="already in that pool"):
        sample_reassign_pool(actor=None, sample_id=parent.id, pool=Pool.RESEARCH, reason="again")


def test_reassigning_needs_a_reason(parent):
    with refused(DomainError, field="reason", message="needs a reason"):
        sample_reassign_pool(actor=None, sample_id=parent.id, pool=Pool.BACKUP, reason="")


def test_reassigning_rejects_a_sample_that_is_not_stored(lost):
    with refused(Conflict, field="sample", message="only stored samples change pool"):
        sample_reassign_pool(actor=None, sample_id=lost.id, pool=Pool.BACKUP, reason="insurance")
