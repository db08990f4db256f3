"""The audit log records logins, refusals, decisions and administrative changes; curators read it;
the database refuses every edit."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from moonvault.accounts.models import Institution, Role
from moonvault.accounts.services import person_create
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.audit.models import AuditEntry
from moonvault.audit.services import audit_record
from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.catalog.models import Form, Pool
from tests.rounds import run_round_to_ranking

pytestmark = pytest.mark.django_db
PASSWORD = "regolith-and-basalt-42"
Kind = AuditEntry.Kind


@pytest.fixture
def people(db):
    def person(username, role):
        return person_create(username=username, password=PASSWORD, roles=(role,)).user

    return {
        "applicant": person("amelie", Role.APPLICANT),
        "reviewer": person("rosa", Role.REVIEWER),
        "committee": person("chen", Role.COMMITTEE),
        "curator": person("cui", Role.CURATOR),
    }


def entries(kind, **filters):
    return AuditEntry.objects.filter(kind=kind, **filters)


# --- what is recorded -------------------------------------------------------------------------


def test_a_login_and_a_logout_are_recorded_with_the_address(client, people):
    client.post(reverse("login"), {"username": "amelie", "password": PASSWORD})
    client.post(reverse("logout"))
    login = entries(Kind.LOGIN, actor_name="amelie").get()
    assert login.actor == people["applicant"]
    assert login.ip == "127.0.0.1"
    assert entries(Kind.LOGOUT, actor_name="amelie").count() == 1


def test_a_failed_login_is_recorded_with_the_name_tried_and_never_the_password(client, people):
    client.post(reverse("login"), {"username": "amelie", "password": "guess-123"})
    failed = entries(Kind.LOGIN_FAILED).get()
    assert failed.actor_name == "amelie"
    assert failed.actor is None
    assert "guess-123" not in str(failed.__dict__)


def test_a_lockout_is_recorded(client, people):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "amelie", "password": "guess-123"})
    assert entries(Kind.LOCKOUT, actor_name="amelie").exists()


def test_an_api_refusal_is_recorded_with_its_reason(client, people, mission_ce5):
    now = timezone.now()
    call = calls.call_create(
        actor=people["committee"],
        title="Chang'e-5 round",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH],
        release_budget_ug=3_000_000,
        per_proposal_cap_ug=2_000_000,
        proposals_due=now + dt.timedelta(days=30),
        review_due=(now + dt.timedelta(days=60)).date(),
        decision_due=(now + dt.timedelta(days=90)).date(),
    )
    client.force_login(people["applicant"])
    url = f"/api/v1/calls/{call.pk}/transition"
    response = client.post(url, {"to_status": "open"}, content_type="application/json")
    assert response.status_code == 403
    refusal = entries(Kind.REFUSAL, actor_name="amelie").get()
    assert refusal.target == f"POST {url}"
    assert refusal.summary == response.json()["detail"]


def test_a_page_refused_for_a_missing_role_is_recorded(client, people):
    client.force_login(people["applicant"])
    response = client.get(reverse("calls:dashboard"))
    assert response.status_code == 403
    refusal = entries(Kind.REFUSAL, actor_name="amelie").get()
    assert refusal.target == f"GET {reverse('calls:dashboard')}"


def test_djangos_own_permission_denied_is_recorded_with_its_message(client, people):
    client.force_login(people["reviewer"])
    response = client.get(reverse("audit:log"))
    assert response.status_code == 403
    assert "for curators" in response.content.decode()
    refusal = entries(Kind.REFUSAL, actor_name="rosa").get()
    assert refusal.summary == "The audit log is for curators."


def test_a_missing_csrf_token_is_recorded_as_a_refusal(people):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["applicant"])
    assert strict.post(reverse("api-tokens"), {"name": "x", "scope": "read"}).status_code == 403
    assert entries(Kind.REFUSAL, actor_name="amelie").exists()


def test_each_decision_of_a_round_is_recorded(mission_ce5, receive, round_people):
    call, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1000, 800)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(actor=committee, plan_id=plan.pk)
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.DECIDED)
    decisions = entries(Kind.DECISION, actor_name=committee.username)
    targets = set(decisions.values_list("target", flat=True))
    assert {f"proposal {p.pk}" for p in proposals} <= targets
    assert f"plan {plan.pk}" in targets
    assert f"call {call.pk}" in targets
    assert decisions.count() == len(proposals) + 2


def test_a_refused_decision_leaves_no_decision_entry(mission_ce5, receive, round_people):
    _, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1000, 800)]
    )
    item = proposals[0].items.get()
    with pytest.raises(calls.DomainError):
        calls.proposal_decide(
            actor=committee, proposal_id=proposals[0].pk, approved={item.pk: 1}, reasons={}
        )
    assert not entries(Kind.DECISION).exists()


def test_a_change_made_in_the_admin_is_recorded_with_who_made_it(client, people):
    admin = person_create(username="ada", password=PASSWORD, roles=(Role.ADMINISTRATOR,)).user
    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_institution_add"),
        {"name": "Lunar and Planetary Institute", "name_zh": "", "country": "US", "ror": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Institution.objects.filter(country="US").exists()
    change = entries(Kind.ADMIN_CHANGE, actor_name="ada").get()
    assert change.target == "institution Lunar and Planetary Institute (US)"
    assert change.summary.startswith("added in the admin")


def test_a_role_granted_in_the_admin_is_recorded(client, people):
    admin = person_create(username="ada", password=PASSWORD, roles=(Role.ADMINISTRATOR,)).user
    user = people["applicant"]
    client.force_login(admin)
    form = client.get(reverse("admin:auth_user_change", args=[user.pk])).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["groups"] = [*user.groups.values_list("pk", flat=True), people["reviewer"].groups.get().pk]
    data.update(date_joined_0=user.date_joined.date(), date_joined_1=user.date_joined.time())
    data.pop("last_login", None)
    data.pop("user_permissions", None)
    data.pop("password", None)
    response = client.post(reverse("admin:auth_user_change", args=[user.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert user.groups.filter(name="reviewer").exists()
    change = entries(Kind.ADMIN_CHANGE, actor_name="ada").get()
    assert change.target == "user amelie"
    assert "Groups" in change.summary


# --- nobody edits it ----------------------------------------------------------------------------


def test_the_database_refuses_to_update_an_entry(people):
    entry = audit_record(kind=Kind.DECISION, actor=people["committee"], summary="approved")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(summary="declined")
    entry.refresh_from_db()
    assert entry.summary == "approved"


def test_the_database_refuses_to_delete_an_entry(people):
    entry = audit_record(kind=Kind.DECISION, actor=people["committee"], summary="approved")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_deleting_a_user_keeps_their_entries(people):
    user = people["reviewer"]
    audit_record(kind=Kind.LOGIN, actor=user, summary="logged in")
    user.delete()
    assert entries(Kind.LOGIN, actor_name="rosa").exists()


def test_even_an_administrator_cannot_change_or_delete_entries_in_the_admin(client, people):
    admin = person_create(username="ada", password=PASSWORD, roles=(Role.ADMINISTRATOR,)).user
    entry = audit_record(kind=Kind.DECISION, actor=people["committee"], summary="approved")
    client.force_login(admin)
    assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    assert delete.status_code == 403
    change = client.post(
        reverse("admin:audit_auditentry_change", args=[entry.pk]), {"summary": "declined"}
    )
    assert change.status_code == 403
    entry.refresh_from_db()
    assert entry.summary == "approved"


# --- the page -------------------------------------------------------------------------------------


def test_the_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("audit:log"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["applicant", "reviewer", "committee"])
def test_the_page_is_refused_to_everyone_but_curators(client, people, role):
    client.force_login(people[role])
    assert client.get(reverse("audit:log")).status_code == 403


def test_a_curator_reads_the_log_newest_first(client, people):
    audit_record(kind=Kind.DECISION, actor=people["committee"], summary="first decision")
    audit_record(kind=Kind.DECISION, actor=people["committee"], summary="second decision")
    client.force_login(people["curator"])
    body = client.get(reverse("audit:log")).content.decode()
    assert body.index("second decision") < body.index("first decision")


def test_the_page_filters_by_actor_kind_and_dates(client, people):
    audit_record(kind=Kind.DECISION, actor=people["committee"], summary="by chen")
    audit_record(kind=Kind.LOGIN, actor=people["applicant"], summary="amelie came")
    client.force_login(people["curator"])
    url = reverse("audit:log")
    by_actor = client.get(url, {"actor": "chen"}).context["page"]
    assert {e.actor_name for e in by_actor} == {"chen"}
    by_kind = client.get(url, {"kind": "login"}).context["page"]
    assert {e.kind for e in by_kind} == {"login"}
    today = timezone.now().date()
    assert client.get(url, {"since": today.isoformat()}).context["page"].paginator.count >= 2
    future = (today + dt.timedelta(days=1)).isoformat()
    assert client.get(url, {"since": future}).context["page"].paginator.count == 0


def test_a_date_range_that_ends_before_it_starts_gets_a_field_error(client, people):
    client.force_login(people["curator"])
    response = client.get(reverse("audit:log"), {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 400
    assert response.context["form"].errors["until"]


def test_the_page_is_paginated_and_keeps_the_filters(client, people):
    for n in range(55):
        audit_record(kind=Kind.DECISION, actor=people["committee"], summary=f"decision {n}")
    client.force_login(people["curator"])
    first = client.get(reverse("audit:log"), {"kind": "decision"})
    assert len(first.context["page"]) == 50
    assert "kind=decision&amp;page=2" in first.content.decode()
    second = client.get(reverse("audit:log"), {"kind": "decision", "page": 2})
    assert len(second.context["page"]) == 5
