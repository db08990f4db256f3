"""Shared by the robustness tests: committed data, a ledger that can be flushed, a loan to drive,
and the figures each test prints (run pytest with -s to see them)."""

import os
from datetime import date

import pytest
from django.db import connection

from moonvault.allocation.models import Allocation
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls.models import CallStatus
from moonvault.calls.services import call_transition
from moonvault.catalog.models import StorageLocation
from moonvault.loans.services import research
from tests.rounds import run_round_to_ranking


@pytest.fixture
def decided_round(mission_ce5, receive, round_people, curator):
    """A Chang'e-5 round run to its decision, and a loan agreement for each approved proposal."""
    call, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(600, 400), (600, 400), (800, 600)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(actor=committee, plan_id=plan.pk)
    call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.DECIDED)
    StorageLocation.objects.create(code="RET-01", name="Returned material", kind="cabinet")
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    loans = []
    for proposal in proposals:
        lent = sum(a.mass_ug for a in Allocation.objects.filter(item__proposal=proposal))
        if not lent:
            continue
        loan = research.loan_create(
            actor=curator,
            proposal_id=proposal.pk,
            official_name="Dr. A. Official",
            allowed_techniques="SIMS, EPMA",
            destructive_allowed=True,
            destructive_max_ug=lent,
            starts_on=date(2026, 1, 10),
        )
        loans.append(loan)
    assert loans
    return loans


def report(title: str, figures: dict) -> None:
    """Print a test's figures as aligned lines, for quoting."""
    print(f"\n== {title}")
    width = max(len(name) for name in figures)
    for name, value in figures.items():
        print(f"   {name:<{width}}  {value}")


def subprocess_env() -> dict:
    """The test database, as the `moonvault` command reads it from DATABASE_URL."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings['NAME']}"
    else:
        password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
        url = (
            f"postgresql://{settings['USER']}{password}@{settings['HOST'] or 'localhost'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "moonvault.settings",
        "PYTHONUNBUFFERED": "1",
    }
