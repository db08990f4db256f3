"""The loan API: a whole loan driven over HTTP, who may call each route, and refused changes.

`build_world` (used by the other loan test modules too) runs an allocation round to its
decision and draws up the agreement for the best proposal; `pi` borrows, `other` is another
applicant whose proposal was approved too, `committee` chairs the round.
"""

from dataclasses import dataclass
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from moonvault.accounts.models import ApiToken
from moonvault.accounts.services import api_token_create
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls.models import CallStatus, Proposal
from moonvault.calls.services import call_transition
from moonvault.catalog.models import Pool, Sample, State, StorageLocation
from moonvault.custody.selectors import ledger_head
from moonvault.loans.models import Analysis, Incident, Loan, Shipment
from moonvault.loans.services import research
from tests.api.test_errors import assert_error
from tests.conftest import GRAM
from tests.rounds import MG, run_round_to_ranking

pytestmark = pytest.mark.django_db


@dataclass
class World:
    curator: object
    committee: object
    pi: object
    other: object
    proposal: Proposal
    other_proposal: Proposal
    loan: Loan | None


def build_world(mission_ce5, receive, round_people, curator, *, with_loan: bool = True) -> World:
    call, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(actor=committee, plan_id=plan.pk)
    call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.DECIDED)
    StorageLocation.objects.create(code="RET-01", name="Returned material", kind="cabinet")
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    loan = None
    if with_loan:
        loan = research.loan_create(
            actor=curator,
            proposal_id=proposals[0].pk,
            official_name="Dr. A. Official",
            allowed_techniques="SIMS, EPMA",
            destructive_allowed=True,
            destructive_max_ug=300 * MG,
            starts_on=date(2026, 1, 10),
            data_embargo_until=date(2027, 6, 30),
        )
    _, applicants, _ = round_people
    return World(
        curator=curator,
        committee=committee,
        pi=proposals[0].pi,
        other=applicants[1],
        proposal=proposals[0],
        other_proposal=proposals[1],
        loan=loan,
    )


def sign_pack_ship(loan: Loan, curator) -> Shipment:
    research.loan_record_signature(actor=curator, loan_id=loan.pk, signed_by_name="A. Official")
    shipment = research.shipment_pack(
        actor=curator,
        loan_id=loan.pk,
        container_code="BOX-1",
        seal_number="SEAL-0001",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(
        actor=curator, shipment_id=shipment.pk, courier="SF Express", tracking_number="SF123"
    )
    return shipment


@pytest.fixture
def world(mission_ce5, receive, round_people, curator, facility):
    return build_world(mission_ce5, receive, round_people, curator)


def _as(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


def _post(client, user, path, body=None, **extra):
    return _as(client, user).post(
        "/api/v1" + path, body or {}, content_type="application/json", **extra
    )


def _get(client, user, path, **extra):
    return _as(client, user).get("/api/v1" + path, **extra)


def _ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def _state(loan: Loan) -> tuple:
    """What a refused change must leave as it was."""
    loan.refresh_from_db()
    return (
        loan.status,
        ledger_head().seq,
        loan.shipments.count(),
        loan.analyses.count(),
        list(loan.items.values_list("sample__state", "sample__mass_ug").order_by("id")),
    )


# --- a whole loan ------------------------------------------------------------------------------


def test_a_whole_loan_driven_through_the_api_keeps_the_ledger_verified(
    client, mission_ce5, receive, round_people, curator, facility
):
    w = build_world(mission_ce5, receive, round_people, curator, with_loan=False)
    loan = _ok(
        _post(
            client,
            w.curator,
            "/loans",
            {
                "proposal_id": w.proposal.pk,
                "official_name": "Prof. M. Weber",
                "allowed_techniques": "NanoSIMS",
                "destructive_allowed": True,
                "destructive_max_ug": 300 * MG,
                "starts_on": "2026-03-01",
            },
        ),
        201,
    )
    loan_id = loan["id"]
    assert loan["status"] == "agreement" and loan["ends_on"] == "2031-03-01"

    agreement = _get(client, w.pi, f"/loans/{loan_id}/agreement.pdf")
    assert agreement.status_code == 200 and agreement["Content-Type"] == "application/pdf"
    signed = _as(client, w.pi).post(
        f"/api/v1/loans/{loan_id}/signature",
        {"signed_by_name": "Prof. M. Weber", "signed_pdf": _upload(agreement.content)},
    )
    assert _ok(signed)["certificate_hash"] == ledger_head().hash

    shipment = _ok(
        _post(
            client,
            w.curator,
            f"/loans/{loan_id}/shipments",
            {
                "container_code": "BOX-7",
                "seal_number": "SEAL-7",
                "nitrogen_purged": True,
                "location_code": "PACK",
            },
        ),
        201,
    )
    (sent,) = shipment["items"]
    sample_id, lent = sent["sample_id"], sent["mass_sent_ug"]
    _ok(
        _post(
            client,
            w.curator,
            f"/shipments/{shipment['id']}/dispatch",
            {"courier": "DHL", "tracking_number": "DHL-1"},
        )
    )
    incidents = _ok(
        _post(
            client,
            w.pi,
            f"/shipments/{shipment['id']}/receive",
            {"seal_intact": True, "measured": {str(sample_id): lent}},
        )
    )
    assert incidents == []
    _ok(
        _post(
            client,
            w.pi,
            f"/loans/{loan_id}/analyses",
            {
                "sample_id": sample_id,
                "technique": "NanoSIMS",
                "destructive": True,
                "mass_consumed_ug": 200 * MG,
            },
        ),
        201,
    )
    (child,) = _ok(
        _post(
            client,
            w.pi,
            f"/loans/{loan_id}/subsplits",
            {"sample_id": sample_id, "masses_ug": [100 * MG], "loss_ug": 10},
        ),
        201,
    )
    _ok(_post(client, w.pi, f"/loans/{loan_id}/usage-reports", {"text": "Two sessions."}), 201)
    remaining = lent - 200 * MG - 100 * MG - 10
    _ok(
        _post(
            client,
            w.pi,
            f"/loans/{loan_id}/inventories",
            {
                "lines": [
                    {"sample": sample_id, "mass_ug": remaining, "place": "Lab 2"},
                    {"sample": child["id"], "mass_ug": 100 * MG, "place": "Lab 2"},
                ]
            },
        ),
        201,
    )
    back = _ok(
        _post(
            client,
            w.pi,
            f"/loans/{loan_id}/returns",
            {
                "sample_ids": [sample_id, child["id"]],
                "container_code": "BOX-7R",
                "seal_number": "SEAL-7R",
            },
        ),
        201,
    )
    _ok(
        _post(
            client,
            w.pi,
            f"/shipments/{back['id']}/dispatch",
            {"hand_carried_by": "Dr. B. Courier", "hand_carry_log": "Flight LH720"},
        )
    )
    _ok(
        _post(
            client,
            w.curator,
            f"/shipments/{back['id']}/return-receive",
            {
                "seal_intact": True,
                "measured": {str(sample_id): remaining, str(child["id"]): 100 * MG},
                "location_code": "RET-01",
            },
        )
    )
    recorded = _ok(
        _post(
            client,
            w.pi,
            "/publications",
            {
                "doi": "10.1038/s41586-021-04100-2",
                "title": "Two-billion-year-old volcanism on the Moon",
                "journal": "Nature",
                "year": 2021,
                "authors": ["Li, Q.-L."],
                "sample_identifiers": [sent["identifier"]],
                "loan_id": loan_id,
            },
        ),
        201,
    )
    assert recorded["warnings"] == []
    _ok(
        _post(client, w.pi, f"/loans/{loan_id}/data-deposits", {"reference": "10.5281/zenodo.1"}),
        201,
    )
    obligations = _ok(_get(client, w.pi, f"/loans/{loan_id}/obligations"))
    assert obligations["closure_blockers"] == []
    closed = _ok(_post(client, w.curator, f"/loans/{loan_id}/close"))
    assert closed["status"] == "closed"

    account = _ok(_get(client, w.curator, f"/loans/{loan_id}/accountability"))
    assert account["totals"]["lent_ug"] == lent
    assert account["totals"]["consumed_ug"] == 200 * MG
    assert account["totals"]["loss_ug"] == 10
    assert account["totals"]["returned_ug"] == remaining + 100 * MG
    assert account["totals"]["difference_ug"] == 0
    public = _ok(_get(client, None, f"/samples/{sent['identifier']}/publications"))
    assert [p["doi"] for p in public["items"]] == ["10.1038/s41586-021-04100-2"]
    assert Sample.objects.get(pk=sample_id).pristine is False
    call_command("verify")  # raises CommandError when the ledger does not hold


def _upload(content: bytes):
    return SimpleUploadedFile("signed.pdf", content, content_type="application/pdf")


# --- who may read ------------------------------------------------------------------------------

READS = [
    "/loans/{loan}",
    "/loans/{loan}/obligations",
    "/loans/{loan}/accountability",
    "/loans/{loan}/agreement.pdf",
    "/loans/{loan}/certificate.pdf",
    "/loans/{loan}/accountability.pdf",
    "/loans/{loan}/accountability.csv",
    "/loans/{loan}/labels.pdf",
]


def test_the_curator_and_the_pi_read_every_loan_route_and_get_every_document(client, world):
    sign_pack_ship(world.loan, world.curator)
    for user in (world.curator, world.pi):
        for path in READS:
            response = _get(client, user, path.format(loan=world.loan.pk))
            assert response.status_code == 200, (user, path, response.content)
        listed = _ok(_get(client, user, "/loans"))
        assert [loan["number"] for loan in listed["items"]] == [world.loan.number]
        assert listed["count"] == 1


def test_another_applicant_is_told_the_loan_does_not_exist_and_lists_none(client, world):
    for path in READS:
        assert_error(_get(client, world.other, path.format(loan=world.loan.pk)), 404, "loan")
    listed = _ok(_get(client, world.other, "/loans"))
    assert (listed["count"], listed["items"]) == (0, [])


def test_an_anonymous_visitor_must_authenticate_for_every_loan_route(client, world):
    for path in ["/loans", *READS]:
        assert_error(_get(client, None, path.format(loan=world.loan.pk)), 401, None)


def test_the_certificate_is_refused_until_the_agreement_is_signed(client, world):
    assert_error(_get(client, world.pi, f"/loans/{world.loan.pk}/certificate.pdf"), 409, "loan")


def test_the_pdf_documents_come_with_a_file_name_naming_the_loan(client, world):
    response = _get(client, world.curator, f"/loans/{world.loan.pk}/accountability.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{world.loan.number}-accountability.csv"' in response["Content-Disposition"]


# --- who may write -----------------------------------------------------------------------------


def _writes(w: World) -> list[tuple[str, dict]]:
    loan = w.loan.pk
    return [
        (
            "/loans",
            {"proposal_id": w.other_proposal.pk, "official_name": "X", "allowed_techniques": "SEM"},
        ),
        (
            f"/loans/{loan}/shipments",
            {"container_code": "B", "seal_number": "S", "location_code": "PACK"},
        ),
        (f"/loans/{loan}/analyses", {"sample_id": 1, "technique": "SEM", "destructive": False}),
        (f"/loans/{loan}/subsplits", {"sample_id": 1, "masses_ug": [1]}),
        (f"/loans/{loan}/usage-reports", {"text": "r"}),
        (f"/loans/{loan}/inventories", {"lines": []}),
        (f"/loans/{loan}/returns", {"sample_ids": [1], "container_code": "B", "seal_number": "S"}),
        (f"/loans/{loan}/data-deposits", {"reference": "10.1/x"}),
        (f"/loans/{loan}/waivers", {"obligation": "data", "reason": "r"}),
        (f"/loans/{loan}/close", {}),
    ]


def test_another_applicant_changes_nothing_on_someone_elses_loan(client, world):
    before = _state(world.loan)
    for path, body in _writes(world):
        response = _post(client, world.other, path, body)
        assert response.status_code in (403, 404), (path, response.content)
        assert_error(
            response, response.status_code, "loan" if response.status_code == 404 else None
        )
    assert _state(world.loan) == before
    assert Loan.objects.count() == 1


def test_an_anonymous_visitor_cannot_change_anything(client, world):
    before = _state(world.loan)
    for path, body in _writes(world):
        assert_error(_post(client, None, path, body), 401, None)
    assert _state(world.loan) == before


def test_a_read_only_token_changes_nothing_and_a_write_token_may(client, world):
    read = api_token_create(actor=world.curator, name="r", scope=ApiToken.Scope.READ)
    refused = client.post(
        f"/api/v1/loans/{world.loan.pk}/waivers",
        {"obligation": "data", "reason": "supplement"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {read}",
    )
    assert_error(refused, 403, "scope")
    assert not world.loan.waivers.exists()
    assert _ok(client.get("/api/v1/loans", HTTP_AUTHORIZATION=f"Bearer {read}"))["items"]
    write = api_token_create(actor=world.curator, name="w", scope=ApiToken.Scope.WRITE)
    done = client.post(
        f"/api/v1/loans/{world.loan.pk}/waivers",
        {"obligation": "data", "reason": "supplement"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {write}",
    )
    assert _ok(done, 201)["obligation"] == "data"


def test_only_a_curator_draws_up_an_agreement_and_the_pi_must_upload_the_signed_pdf(client, world):
    body = {"proposal_id": world.other_proposal.pk, "official_name": "X", "allowed_techniques": "S"}
    assert_error(_post(client, world.pi, "/loans", body), 403, None)
    no_file = _as(client, world.pi).post(
        f"/api/v1/loans/{world.loan.pk}/signature", {"signed_by_name": "A. Official"}
    )
    assert_error(no_file, 400, "signed_pdf")
    world.loan.refresh_from_db()
    assert world.loan.status == Loan.Status.AGREEMENT and not world.loan.certificate_hash


# --- refused state changes ---------------------------------------------------------------------


def test_shipping_without_a_signature_is_refused_and_changes_nothing(client, world):
    before = _state(world.loan)
    response = _post(
        client,
        world.curator,
        f"/loans/{world.loan.pk}/shipments",
        {"container_code": "BOX-1", "seal_number": "S-1", "location_code": "PACK"},
    )
    body = assert_error(response, 409, "loan")
    assert "signed" in body["detail"]
    assert _state(world.loan) == before


def _received(world: World) -> Sample:
    shipment = sign_pack_ship(world.loan, world.curator)
    sample = world.loan.items.get().sample
    research.shipment_receive(
        actor=world.pi,
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug},
    )
    return sample


def test_consuming_beyond_the_allowed_mass_is_refused_and_changes_nothing(client, world):
    sample = _received(world)
    before = _state(world.loan)
    response = _post(
        client,
        world.pi,
        f"/loans/{world.loan.pk}/analyses",
        {
            "sample_id": sample.pk,
            "technique": "SIMS",
            "destructive": True,
            "mass_consumed_ug": 300 * MG + 1,
        },
    )
    assert_error(response, 409, "mass_consumed_ug")
    assert _state(world.loan) == before
    assert not Analysis.objects.exists()


def test_returning_more_than_was_lent_is_refused_and_changes_nothing(client, world):
    sample = _received(world)
    back = research.return_pack(
        actor=world.pi,
        loan_id=world.loan.pk,
        sample_ids=[sample.pk],
        container_code="R",
        seal_number="SR",
    )
    research.shipment_dispatch(
        actor=world.pi, shipment_id=back.pk, courier="DHL", tracking_number="1"
    )
    before = _state(world.loan)
    response = _post(
        client,
        world.curator,
        f"/shipments/{back.pk}/return-receive",
        {
            "seal_intact": True,
            "measured": {str(sample.pk): sample.mass_ug + GRAM},
            "location_code": "RET-01",
        },
    )
    assert_error(response, 409, "measured")
    assert _state(world.loan) == before
    assert Sample.objects.get(pk=sample.pk).state == State.IN_TRANSIT


def test_closing_with_obligations_open_is_refused_naming_them_and_changes_nothing(client, world):
    _received(world)
    before = _state(world.loan)
    body = assert_error(_post(client, world.curator, f"/loans/{world.loan.pk}/close"), 409, "loan")
    assert "no usage report" in body["detail"] and "on loan" in body["detail"]
    assert _state(world.loan) == before
    blockers = _ok(_get(client, world.pi, f"/loans/{world.loan.pk}/obligations"))
    assert "no usage report" in blockers["closure_blockers"]
    assert [o["what"] for o in blockers["obligations"]][:2] == [
        "annual inventory",
        "usage report",
    ]


def test_bad_input_names_the_field_and_is_never_a_server_error(client, world):
    _received(world)
    response = _post(
        client,
        world.pi,
        f"/loans/{world.loan.pk}/analyses",
        {"sample_id": "x", "technique": "SIMS", "destructive": False},
    )
    assert_error(response, 422, "sample_id")
    response = _post(
        client, world.pi, f"/loans/{world.loan.pk}/data-deposits", {"reference": "somewhere"}
    )
    assert_error(response, 400, "reference")


# --- incidents, stock checks, exhibitions, publications ----------------------------------------


def test_a_broken_seal_opens_an_incident_the_curator_lists_and_resolves(client, world):
    shipment = sign_pack_ship(world.loan, world.curator)
    sample = world.loan.items.get().sample
    opened = _ok(
        _post(
            client,
            world.pi,
            f"/shipments/{shipment.pk}/receive",
            {"seal_intact": False, "measured": {str(sample.pk): sample.mass_ug}},
        )
    )
    assert [i["kind"] for i in opened] == ["seal_broken"]
    assert_error(_get(client, world.pi, "/incidents"), 403, None)
    listed = _ok(_get(client, world.curator, "/incidents"))
    assert [i["id"] for i in listed["items"]] == [opened[0]["id"]]
    assert_error(
        _post(client, world.pi, f"/incidents/{opened[0]['id']}/resolve", {"resolution": "ok"}),
        403,
        None,
    )
    resolved = _ok(
        _post(
            client,
            world.curator,
            f"/incidents/{opened[0]['id']}/resolve",
            {"resolution": "inner seal intact, courier damage only"},
        )
    )
    assert resolved["status"] == "resolved"


def test_a_stock_check_runs_from_start_to_an_incident_for_a_missing_sample(
    client, curator, facility, receive, mission_ce5, applicant_user
):
    here = receive("CE5C0400YJFM00701", mission_ce5, 2 * GRAM)
    gone = receive("CE5C0400YJFM00702", mission_ce5, GRAM)
    assert_error(
        _post(client, applicant_user, "/stock-checks", {"location_code": facility.code}), 403, None
    )
    check = _ok(_post(client, curator, "/stock-checks", {"location_code": facility.code}), 201)
    assert (check["location"], check["status"]) == (facility.code, "open")
    assert "lines" not in check
    listed = _ok(_get(client, curator, f"/stock-checks/{check['id']}/lines"))
    lines = {line["identifier"]: line["id"] for line in listed["items"]}
    assert set(lines) == {here.identifier, gone.identifier} and listed["count"] == 2
    premature = _post(client, curator, f"/stock-checks/{check['id']}/close")
    assert_error(premature, 409, "check")
    _ok(
        _post(
            client,
            curator,
            f"/stock-checks/{check['id']}/lines/{lines[here.identifier]}",
            {"found": True, "measured_ug": 2 * GRAM},
        )
    )
    _ok(
        _post(
            client,
            curator,
            f"/stock-checks/{check['id']}/lines/{lines[gone.identifier]}",
            {"found": False},
        )
    )
    opened = _ok(_post(client, curator, f"/stock-checks/{check['id']}/close"))
    assert [i["sample"] for i in opened] == [gone.identifier]
    assert _ok(_get(client, curator, f"/stock-checks/{check['id']}"))["status"] == "closed"
    recorded = _ok(_get(client, curator, f"/stock-checks/{check['id']}/lines"))["items"]
    assert [(r["identifier"], r["found"], r["measured_mass_ug"]) for r in recorded] == [
        (here.identifier, True, 2 * GRAM),
        (gone.identifier, False, None),
    ]


@pytest.fixture
def applicant_user(round_people):
    return round_people[1][0]


def test_an_exhibition_travels_and_comes_back_as_returned_material(
    client, curator, round_people, receive, mission_ce5, facility
):
    committee = round_people[0]
    display = receive("CE5C0400YJFM00900", mission_ce5, 3 * GRAM, pool=Pool.PUBLIC_BENEFIT)
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    body = {
        "title": "Chang'e-5 at IAC",
        "organiser": "CNSA",
        "starts_on": "2026-10-14",
        "ends_on": "2026-10-18",
        "responsible_official": "Li Wei",
        "deputy_official": "Zhang Min",
        "insurance_value": "5000000.00",
        "insurance_currency": "EUR",
        "sample_identifiers": [display.identifier],
        "stops": [
            {
                "venue": "MiCo",
                "city": "Milan",
                "country": "IT",
                "arrive_on": "2026-10-12",
                "depart_on": "2026-10-19",
            }
        ],
    }
    assert_error(_post(client, committee, "/exhibitions", body), 403, None)
    exhibition = _ok(_post(client, curator, "/exhibitions", body), 201)
    path = f"/exhibitions/{exhibition['id']}"
    assert_error(_post(client, curator, path + "/approve"), 403, None)
    assert _ok(_post(client, committee, path + "/approve"))["status"] == "approved"
    _ok(
        _post(
            client,
            curator,
            path + "/dispatch",
            {
                "container_code": "CASE-1",
                "seal_number": "SEAL-IAC",
                "courier": "Secure",
                "location_code": "PACK",
            },
        ),
        201,
    )
    handover = {
        "at": timezone.now().isoformat(),
        "place": "MiCo loading bay",
        "from_party": "Secure",
        "to_party": "Li Wei",
        "seal_number": "SEAL-IAC",
        "seal_intact": True,
    }
    assert _ok(_post(client, curator, path + "/handovers", handover), 201)["seal_intact"]
    assert _ok(_post(client, curator, path + "/display", {"on_display": True}))["status"] == (
        "on_display"
    )
    _ok(_post(client, curator, path + "/display", {"on_display": False}))
    returned = _ok(_post(client, curator, path + "/return", {"location_code": "MAIN"}))
    assert returned["status"] == "returned" and len(returned["handovers"]) == 1
    assert _ok(_get(client, committee, path))["samples"] == [display.identifier]
    display.refresh_from_db()
    assert display.state == State.STORED and display.pristine is False
    assert not Incident.objects.exists()
    call_command("verify")


def test_a_curator_recording_an_unlinked_publication_is_warned_and_the_public_sees_it(
    client, curator, receive, mission_ce5
):
    sample = receive("CE5C0400YJFM00950", mission_ce5, GRAM)
    recorded = _ok(
        _post(
            client,
            curator,
            "/publications",
            {
                "doi": "https://doi.org/10.1126/science.abl7957",
                "title": "Age and composition of young basalts on the Moon",
                "journal": "Science",
                "year": 2021,
                "authors": ["Che, X."],
                "sample_identifiers": [sample.identifier],
            },
        ),
        201,
    )
    assert recorded["warnings"] == [f"no loan covers {sample.identifier}"]
    listed = _ok(_get(client, None, "/missions/CE5/publications"))
    assert [p["title"] for p in listed["items"]] == [
        "Age and composition of young basalts on the Moon"
    ]
    assert_error(_get(client, None, "/missions/XX9/publications"), 404, "code")
    assert_error(_get(client, None, "/samples/NOPE/publications"), 404, "identifier")
