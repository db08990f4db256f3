"""`moonvault check-obligations`, the daily job."""

from datetime import date
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from moonvault.accounts.models import Person
from moonvault.loans.services import research
from tests.loans.test_loans_api import build_world, sign_pack_ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def active_loan(mission_ce5, receive, round_people, curator, facility):
    world = build_world(mission_ce5, receive, round_people, curator)
    shipment = sign_pack_ship(world.loan, curator)
    sample = world.loan.items.get().sample
    research.shipment_receive(
        actor=world.pi,
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug},
    )
    return world


def run(*args) -> str:
    out = StringIO()
    call_command("check-obligations", *args, stdout=out)
    return out.getvalue()


def test_overdue_obligations_are_printed_mailed_and_mark_the_pi(
    active_loan, django_capture_on_commit_callbacks
):
    number = active_loan.loan.number
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--today", "2027-02-01")
    assert f"OVERDUE {number}: annual inventory due 2027-01-10 (22 days)" in output
    assert f"OVERDUE {number}: usage report due 2027-01-10 (22 days)" in output
    assert "2027-02-01: 2 overdue obligation(s) on 1 loan(s) of 1 principal investigator(s)." in (
        output
    )
    person = Person.objects.get(user=active_loan.pi)
    assert person.obligations_overdue_since == date(2027, 1, 10)
    (message,) = mail.outbox
    assert active_loan.pi.email in message.to and number in message.body


def test_nothing_overdue_prints_only_the_summary_and_clears_the_mark(
    active_loan, django_capture_on_commit_callbacks
):
    Person.objects.filter(user=active_loan.pi).update(obligations_overdue_since=date(2020, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--today", "2026-06-01")
    assert output.strip() == (
        "2026-06-01: 0 overdue obligation(s) on 0 loan(s) of 0 principal investigator(s)."
    )
    assert Person.objects.get(user=active_loan.pi).obligations_overdue_since is None
    assert mail.outbox == []


def test_the_return_and_the_end_of_the_loan_fall_due_with_its_last_day(active_loan):
    output = run("--today", "2031-01-11")
    assert "return of remnants due 2031-01-10" in output
    assert "end of loan due 2031-01-10" in output


def test_a_malformed_day_is_refused_naming_the_option(active_loan):
    with pytest.raises(CommandError, match="--today"):
        run("--today", "1 February")
    assert Person.objects.get(user=active_loan.pi).obligations_overdue_since is None
