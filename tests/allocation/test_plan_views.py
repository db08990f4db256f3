"""The committee's plan page and the plan API drive the same services as the tests above."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from moonvault.accounts.services import api_token_create
from moonvault.allocation.models import AllocationPlan
from moonvault.calls.models import ProposalStatus
from moonvault.catalog.models import Sample, State
from moonvault.custody.verification import custody_verify
from tests.rounds import run_round_to_ranking

REQUESTS = [(1500, 1000), (1500, 1000), (1800, 1500)]


def gettext_in_chinese(message: str) -> str:
    with translation.override("zh-hans"):
        translated = translation.gettext(message)
    assert translated != message, f"no Chinese for {message!r}"
    return translated


@pytest.fixture
def ranked(mission_ce5, receive, round_people):
    call, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=REQUESTS
    )
    return call, committee, proposals, round_people


def test_the_committee_proposes_excludes_applies_and_decides_through_the_page(client, ranked):
    call, committee, proposals, _ = ranked
    client.force_login(committee)
    url = reverse("allocation:plan", args=[call.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 302
    plan = AllocationPlan.objects.get(call=call)
    body = client.get(url).content.decode()
    assert "ranked 3 of 3" in body
    # In Chinese the outcome, its reason and the optimizer's explanation with its figures are
    # all translated.
    chinese = client.get("/zh-hans" + url).content.decode()
    assert "全额资助" in chinese
    assert "ranked" not in chinese
    third = plan.outcomes.get(item__proposal=proposals[2])
    assert third.detail and third.params
    assert f"<small>排名第 3 / 3；{gettext_in_chinese(third.detail) % third.params}" in chinese

    excluded = proposals[0].items.get()
    assert client.post(url, {f"exclude_{excluded.pk}": "on"}).status_code == 302
    plan = AllocationPlan.objects.get(call=call, status=AllocationPlan.Status.PROPOSED)
    assert plan.excluded == [excluded.pk]

    assert client.post(reverse("allocation:plan-apply", args=[plan.pk])).status_code == 302
    assert Sample.objects.filter(state=State.ALLOCATED).exists()
    again = client.post(reverse("allocation:plan-apply", args=[plan.pk]))
    assert again.status_code == 400
    assert "applied" in again.content.decode()

    decided = client.post(reverse("allocation:plan-decide", args=[plan.pk]), {"comment": "Thanks"})
    assert decided.status_code == 302
    proposals[0].refresh_from_db()
    assert proposals[0].status == ProposalStatus.DECLINED
    assert custody_verify().ok


def test_bad_plan_settings_are_shown_next_to_the_field_and_change_nothing(client, ranked):
    call, committee, _, _ = ranked
    client.force_login(committee)
    response = client.post(reverse("allocation:plan", args=[call.pk]), {"min_split_ug": "-5"})
    assert response.status_code == 400
    assert "a whole number of micrograms" in response.content.decode()
    assert not AllocationPlan.objects.exists()


def test_only_the_committee_opens_the_plan_page(client, ranked):
    call, _, _, (_, applicants, reviewers) = ranked
    url = reverse("allocation:plan", args=[call.pk])
    assert client.get(url).status_code == 302
    for user in (applicants[0], reviewers[0]):
        client.force_login(user)
        assert client.get(url).status_code == 403


def test_the_plan_api_proposes_applies_and_decides(client, ranked):
    call, committee, _, _ = ranked
    write = api_token_create(actor=committee, name="plans", scope="write")
    read = api_token_create(actor=committee, name="read", scope="read")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {write}"}
    created = client.post(
        f"/api/v1/calls/{call.pk}/plans", {"handling_loss_ug": 10}, "application/json", **auth
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert plan["status"] == "proposed"
    assert [o["rank"] for o in plan["outcomes"]] == [1, 2, 3]
    assert plan["outcomes"][2]["status"] == "unfunded"

    refused = client.post(f"/api/v1/plans/{plan['id']}/apply", HTTP_AUTHORIZATION=f"Bearer {read}")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "scope"
    assert not Sample.objects.filter(state=State.ALLOCATED).exists()

    applied = client.post(f"/api/v1/plans/{plan['id']}/apply", **auth)
    assert applied.status_code == 200 and applied.json()["status"] == "applied"
    latest = client.get(f"/api/v1/calls/{call.pk}/plans/latest", **auth)
    assert latest.json()["id"] == plan["id"]
    assert client.post(f"/api/v1/plans/{plan['id']}/decide", **auth).json() == {"decided": 3}


def test_the_plan_api_names_bad_input_and_refuses_applicants(client, ranked):
    call, _, _, (_, applicants, _) = ranked
    token = api_token_create(actor=applicants[0], name="mine", scope="write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bad = client.post(
        f"/api/v1/calls/{call.pk}/plans", {"handling_loss_ug": -1}, "application/json", **auth
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "handling_loss_ug"
    refused = client.post(f"/api/v1/calls/{call.pk}/plans", {}, "application/json", **auth)
    assert refused.status_code == 403
    assert not AllocationPlan.objects.exists()


def test_the_long_plan_operations_show_their_progress_while_they_run(client, ranked):
    call, committee, _, _ = ranked
    client.force_login(committee)
    url = reverse("allocation:plan", args=[call.pk])
    client.post(url, {})
    html = client.get(url).content.decode()
    # Each long form names an indicator that htmx shows for as long as the request runs.
    for indicator in ("busy-plan", "busy-apply"):
        assert f'hx-indicator="#{indicator}"' in html
        assert re.search(rf'<p id="{indicator}" class="htmx-indicator busy" role="status">', html)
    assert html.count("<progress") == 2
    assert html.count('hx-disabled-elt="find button"') == 2
