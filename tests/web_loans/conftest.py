"""A decided round with an approved proposal ready for its loan agreement, the people on each
side, and helpers that drive the loan pages with the Django test client."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.urls import reverse

from moonvault.accounts.models import Role
from moonvault.accounts.services import person_create
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls.models import CallStatus
from moonvault.calls.services import call_transition
from moonvault.catalog.models import Form, Pool, StorageLocation
from moonvault.loans.services import research
from tests.rounds import MG, run_round_to_ranking

__all__ = ["MG"]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Hashing strength is not under test here; every test creates several accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def decided(mission_ce5, receive, round_people, curator, facility):
    """The round's first proposal approved with an allocation and no loan yet."""
    call, committee, proposals, _sources = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(actor=committee, plan_id=plan.pk)
    call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.DECIDED)
    StorageLocation.objects.create(code="RET-01", name="Returned material", kind="cabinet")
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    _, applicants, reviewers = round_people
    return SimpleNamespace(
        proposal=proposals[0],
        pi=proposals[0].pi,
        other_applicant=applicants[1],
        committee=committee,
        reviewer=reviewers[0],
        curator=curator,
    )


@pytest.fixture
def people(decided):
    return decided


@pytest.fixture
def loan(decided):
    """An agreement awaiting signature, drawn up through the services."""
    return research.loan_create(
        actor=decided.curator,
        proposal_id=decided.proposal.pk,
        official_name="Dr. A. Official",
        allowed_techniques="SIMS, EPMA",
        destructive_allowed=True,
        destructive_max_ug=300 * MG,
        starts_on=date(2026, 1, 10),
    )


@pytest.fixture
def active_loan(decided, loan):
    """Signed, packed, shipped and received in full: the borrower holds the sample."""
    research.loan_record_signature(
        actor=decided.curator, loan_id=loan.pk, signed_by_name="A. Official"
    )
    shipment = research.shipment_pack(
        actor=decided.curator,
        loan_id=loan.pk,
        container_code="BOX-1",
        seal_number="SEAL-1",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(
        actor=decided.curator, shipment_id=shipment.pk, courier="SF", tracking_number="SF1"
    )
    sample = loan.items.get().sample
    research.shipment_receive(
        actor=decided.pi,
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug},
    )
    loan.refresh_from_db()
    return loan


@pytest.fixture
def display_sample(receive, mission_ce5):
    return receive(
        "CE5C0800YJYX00101", mission_ce5, 2 * MG, form=Form.ROCK_FRAGMENT, pool=Pool.PUBLIC_BENEFIT
    )


@pytest.fixture
def committee_member(db):
    return person_create(username="member", password="x-Member-2026!", roles=(Role.COMMITTEE,)).user


def act(client, loan, action: str, data: dict):
    return client.post(reverse("loans:loan-action", args=[loan.pk, action]), data)


def field_error(response, field: str) -> str:
    """The error text Django renders next to a field (its errorlist sits inside the field's
    group, right before the control)."""
    html = response.content.decode()
    match = re.search(
        r'<ul class="errorlist" id="id_' + re.escape(field) + r'_error">(.*?)</ul>', html, re.S
    )
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""
