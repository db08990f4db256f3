"""Exhibitions, stock checks and the public results, driven through their pages."""

from django.urls import reverse

from moonvault.catalog.models import Sample, State
from moonvault.catalog.services import sample_move
from moonvault.custody.verification import custody_verify
from moonvault.loans.models import Exhibition, Handover, Incident, StockCheck
from moonvault.loans.services import publications


def _exhibition_action(client, exhibition, action, data=None):
    return client.post(reverse("loans:exhibition-action", args=[exhibition.pk, action]), data or {})


def test_an_exhibition_travels_is_displayed_and_comes_back_through_the_pages(
    client, people, display_sample, cabinet
):
    client.force_login(people.curator)
    created = client.post(
        reverse("loans:exhibition-new"),
        {
            "title": "Chang'e-6 at the IAC",
            "organiser": "IAC 2024 Milan",
            "starts_on": "2024-10-14",
            "ends_on": "2024-10-18",
            "responsible_official": "Ms. Official",
            "deputy_official": "Mr. Deputy",
            "continuous_watch": "on",
            "locked_case": "on",
            "transfer_log": "on",
            "insurance_value": "1000000.00",
            "insurance_currency": "EUR",
            "sample_identifiers": display_sample.identifier,
            "stops": "MiCo; Milan; IT; 2024-10-12; 2024-10-19",
        },
    )
    assert created.status_code == 302
    exhibition = Exhibition.objects.get()
    # Only the committee approves.
    assert _exhibition_action(client, exhibition, "approve").status_code == 403
    client.force_login(people.committee)
    assert _exhibition_action(client, exhibition, "approve").status_code == 302

    client.force_login(people.curator)
    steps = [
        (
            "dispatch",
            {
                "dispatch-container_code": "CASE-1",
                "dispatch-seal_number": "SEAL-E1",
                "dispatch-courier": "Art courier",
                "dispatch-location_code": cabinet.code,
            },
        ),
        (
            "handover",
            {
                "handover-at": "2024-10-12T09:00",
                "handover-place": "MiCo loading dock",
                "handover-from_party": "Art courier",
                "handover-to_party": "Ms. Official",
                "handover-seal_number": "SEAL-E1",
                "handover-seal_intact": "on",
            },
        ),
        ("display", {}),
        ("take_down", {}),
        (
            "handover",
            {
                "handover-at": "2024-10-19T09:00",
                "handover-place": "MiCo loading dock",
                "handover-from_party": "Ms. Official",
                "handover-to_party": "Art courier",
                "handover-seal_number": "SEAL-E9",
                "handover-seal_intact": "on",
            },
        ),
        ("return", {"return-location_code": cabinet.code}),
    ]
    for action, data in steps:
        response = _exhibition_action(client, exhibition, action, data)
        assert response.status_code == 302, (action, response.content.decode()[:2000])
    exhibition.refresh_from_db()
    assert exhibition.status == Exhibition.Status.RETURNED
    assert [h.seal_intact for h in Handover.objects.order_by("at")] == [True, False]
    assert Incident.objects.get(exhibition=exhibition).kind == Incident.Kind.SEAL_BROKEN
    sample = Sample.objects.get(pk=display_sample.pk)
    assert sample.state == State.STORED and sample.pristine is False
    page = client.get(reverse("loans:exhibition", args=[exhibition.pk])).content.decode()
    assert "SEAL-E9" in page
    assert custody_verify().ok


def test_an_exhibition_of_research_samples_is_refused_at_the_samples_field(
    client, people, active_loan
):
    research_sample = active_loan.items.get().sample
    client.force_login(people.curator)
    response = client.post(
        reverse("loans:exhibition-new"),
        {
            "title": "Wrong pool",
            "organiser": "Museum",
            "starts_on": "2026-05-01",
            "ends_on": "2026-06-01",
            "responsible_official": "A",
            "deputy_official": "B",
            "insurance_value": "10",
            "insurance_currency": "CNY",
            "sample_identifiers": research_sample.identifier,
            "stops": "Hall; Beijing; CN; 2026-04-30; 2026-06-02",
        },
    )
    assert response.status_code == 400
    assert 'id="id_sample_identifiers_error"' in response.content.decode()
    assert not Exhibition.objects.exists()


def test_a_stock_check_records_lines_with_htmx_and_opens_incidents_on_closing(
    client, people, receive, mission_ce5, cabinet
):
    kept = receive("CE5C0400YJFM00901", mission_ce5, 5_000_000)
    missing = receive("CE5C0400YJFM00902", mission_ce5, 3_000_000)
    for sample in (kept, missing):
        sample_move(
            actor=people.curator, sample_id=sample.pk, location_code=cabinet.code, reason="shelved"
        )
    client.force_login(people.curator)
    started = client.post(reverse("loans:stock-checks"), {"location_code": cabinet.code})
    assert started.status_code == 302
    check = StockCheck.objects.get()
    lines = {line.sample_id: line for line in check.lines.all()}
    assert set(lines) == {kept.pk, missing.pk}

    # Closing with unchecked lines is refused and says why.
    refused = client.post(reverse("loans:stock-close", args=[check.pk]))
    assert refused.status_code == 400 and "not checked yet" in refused.content.decode()

    def record(sample, data):
        line = lines[sample.pk]
        return client.post(
            reverse("loans:stock-line", args=[check.pk, line.pk]),
            {f"line{line.pk}-{k}": v for k, v in data.items()},
            headers={"HX-Request": "true"},
        )

    bad = record(kept, {"found": "yes", "measured": "5.0000001", "unit": "g"})
    assert bad.status_code == 400 and "whole number" in bad.content.decode()
    row = record(kept, {"found": "yes", "measured": "5", "unit": "g"})
    assert row.status_code == 200
    assert row.content.decode().lstrip().startswith(f'<tr id="line-{lines[kept.pk].pk}"')
    assert record(missing, {"found": "no", "unit": "mg", "note": "empty slot"}).status_code == 200

    closed = client.post(reverse("loans:stock-close", args=[check.pk]))
    assert closed.status_code == 302
    incident = Incident.objects.get(stock_check=check)
    assert incident.sample_id == missing.pk

    resolved = client.post(
        reverse("loans:incident-resolve", args=[incident.pk]),
        {
            f"incident{incident.pk}-action": "lost",
            f"incident{incident.pk}-resolution": "Not found after a second search.",
            f"incident{incident.pk}-unit": "mg",
        },
    )
    assert resolved.status_code == 302
    assert Sample.objects.get(pk=missing.pk).state == State.LOST
    assert custody_verify().ok


def test_a_resolution_without_a_mass_is_refused_next_to_the_mass(client, people, active_loan):
    client.force_login(people.curator)
    sample = active_loan.items.get().sample
    incident = Incident.objects.create(
        kind=Incident.Kind.INVENTORY, description="Check it.", sample=sample, loan=active_loan
    )
    response = client.post(
        reverse("loans:incident-resolve", args=[incident.pk]),
        {
            f"incident{incident.pk}-action": "reweigh",
            f"incident{incident.pk}-resolution": "Re-weighed.",
            f"incident{incident.pk}-unit": "mg",
        },
    )
    assert response.status_code == 400
    assert f'id="id_incident{incident.pk}-measured_error"' in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OPEN


def test_the_public_sees_results_per_mission_and_per_sample(
    client, people, active_loan, mission_a17
):
    sample = active_loan.items.get().sample
    publications.publication_record(
        actor=people.pi,
        loan_id=active_loan.pk,
        doi="10.1038/s41586-021-04100-2",
        title="Two-billion-year-old volcanism on the Moon",
        journal="Nature",
        year=2021,
        authors=["Li, Q.-L."],
        sample_identifiers=[sample.identifier],
    )
    title = "Two-billion-year-old volcanism on the Moon"
    assert title in client.get(reverse("loans:results"), {"mission": "CE5"}).content.decode()
    assert title not in client.get(reverse("loans:results"), {"mission": "A17"}).content.decode()
    per_sample = client.get(reverse("loans:sample-results", args=[sample.identifier]))
    assert title in per_sample.content.decode()
    assert client.get(reverse("loans:sample-results", args=["NOPE"])).status_code == 404


def test_an_unknown_location_is_shown_at_its_field_and_an_unknown_incident_is_not_found(
    client, people, active_loan
):
    client.force_login(people.curator)
    sample = active_loan.items.get().sample
    incident = Incident.objects.create(
        kind=Incident.Kind.INVENTORY, description="Check it.", sample=sample, loan=active_loan
    )
    response = client.post(
        reverse("loans:incident-resolve", args=[incident.pk]),
        {
            f"incident{incident.pk}-action": "found",
            f"incident{incident.pk}-resolution": "Found on the bench.",
            f"incident{incident.pk}-unit": "mg",
            f"incident{incident.pk}-location_code": "NOWHERE",
        },
    )
    assert response.status_code == 400
    assert f'id="id_incident{incident.pk}-location_code_error"' in response.content.decode()
    missing = client.post(
        reverse("loans:incident-resolve", args=[incident.pk + 99]),
        {
            f"incident{incident.pk + 99}-action": "accept",
            f"incident{incident.pk + 99}-resolution": "x",
            f"incident{incident.pk + 99}-unit": "mg",
        },
    )
    assert missing.status_code == 404
