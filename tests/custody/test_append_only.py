"""The database itself refuses to change or remove a custody event, whoever asks."""

import pytest
from django.db import DatabaseError, connection, transaction

from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.custody.models import CustodyEvent
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM


@pytest.fixture
def event(receive, mission_ce5):
    parent = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM)], loss_ug=7)
    return CustodyEvent.objects.get(seq=2)


def refused_by_the_database(change):
    # The savepoint keeps the test's transaction usable after PostgreSQL aborts the statement.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()


def history():
    return list(CustodyEvent.objects.order_by("seq").values_list())


def raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


CHANGES = {
    "orm_save": lambda e: (setattr(e, "mass_delta_ug", 0), e.save()),
    "orm_queryset_update": lambda e: CustodyEvent.objects.filter(pk=e.pk).update(reason="typo"),
    "orm_bulk_update": lambda e: (
        setattr(e, "loss_ug", 0),
        CustodyEvent.objects.bulk_update([e], ["loss_ug"]),
    ),
    "orm_delete": lambda e: e.delete(),
    "orm_queryset_delete": lambda e: CustodyEvent.objects.all().delete(),
    "sql_update": lambda e: raw(
        "UPDATE custody_custodyevent SET mass_delta_ug = 0 WHERE seq = %s", [e.seq]
    ),
    "sql_update_every_row": lambda e: raw(
        "UPDATE custody_custodyevent SET reason = %s", ["rewritten"]
    ),
    "sql_delete": lambda e: raw("DELETE FROM custody_custodyevent WHERE seq = %s", [e.seq]),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_the_database_refuses_to_change_or_remove_an_event(event, change):
    before = history()
    refused_by_the_database(lambda: change(CustodyEvent.objects.get(pk=event.pk)))
    assert history() == before
    assert custody_verify().ok


def test_new_events_can_still_be_appended_after_a_refused_change(event):
    refused_by_the_database(lambda: CustodyEvent.objects.filter(pk=event.pk).delete())
    sample_split(actor=None, sample_id=event.sample_id, children=[ChildSpec(GRAM // 2)])
    assert CustodyEvent.objects.count() == 5
    assert custody_verify().ok
