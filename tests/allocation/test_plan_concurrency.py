"""Two committees applying plans on the same samples at the same moment never over-allocate."""

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from moonvault.allocation.models import Allocation
from moonvault.allocation.services import plan_apply, plan_propose
from moonvault.catalog.models import Sample, State
from moonvault.core.errors import DomainError
from moonvault.custody.verification import custody_verify
from tests.rounds import run_round_to_ranking

REQUESTS = [(1500, 1000), (1500, 1000), (1000, 800)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_plans_on_the_same_sources_never_over_allocate(
    mission_ce5, receive, round_people
):
    first, committee, _, sources = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=REQUESTS
    )
    second, _, _, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=REQUESTS, receive_sources=False
    )
    held = sum(s.mass_ug for s in sources)
    # Each plan fits alone (3 g of the 4 g held); together they would need 6 g.
    plans = [plan_propose(actor=committee, call_id=c.pk) for c in (first, second)]
    assert all(p.funded_mass_ug > held / 2 for p in plans)

    barrier = threading.Barrier(len(plans))
    outcomes: list[str] = []

    def apply(plan_id: int) -> None:
        try:
            barrier.wait()
            plan_apply(actor=committee, plan_id=plan_id)
            outcomes.append("applied")
        except DomainError as exc:
            outcomes.append(f"refused: {exc.message}")
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(p.pk,)) for p in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o == "applied" for o in outcomes) == [False, True], outcomes
    allocated = Allocation.objects.aggregate(m=Sum("mass_ug"))["m"]
    left = Sample.objects.filter(pk__in=[s.pk for s in sources]).aggregate(m=Sum("mass_ug"))["m"]
    assert allocated <= held
    assert Sample.objects.filter(state=State.ALLOCATED).aggregate(m=Sum("mass_ug"))["m"] == (
        allocated
    )
    assert left >= 0
    report = custody_verify()
    assert report.ok, report.problems
