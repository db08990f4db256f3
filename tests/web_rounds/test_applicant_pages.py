"""The applicant's journey through the pages: create, save, come back, add parts, submit."""

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus, Proposal, ProposalStatus
from moonvault.catalog.models import Form, Pool
from tests.web_rounds.conftest import MG, complete_proposal, log_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def _edit(proposal, step):
    return reverse("calls:proposal-edit", args=[proposal.pk, step])


def _add(proposal, part):
    return reverse("calls:part-add", args=[proposal.pk, part])


def _saved(response):
    """A successful save sends the applicant back to the step; errors would answer 400."""
    assert response.status_code == 302, response.content.decode()


def test_an_applicant_drafts_saves_comes_back_and_submits_through_the_pages(
    client, people, open_call, django_capture_on_commit_callbacks
):
    log_in(client, people.applicant)
    response = client.post(reverse("calls:proposal-start", args=[open_call.pk]))
    proposal = Proposal.objects.get(pi=people.applicant)
    assert response["Location"] == _edit(proposal, 1)

    response = client.post(
        _edit(proposal, 1),
        {
            "title": "Agglutinate glass",
            "abstract": "Nanophase iron.",
            "science_case": "Weathering rims.",
            "keywords": "TEM, space weathering",
            "continue": "",
        },
    )
    assert response["Location"] == _edit(proposal, 2)

    # Come back later: the page shows what was saved.
    client.logout()
    log_in(client, people.applicant)
    page = client.get(_edit(proposal, 1)).content.decode()
    assert "Agglutinate glass" in page and "Weathering rims." in page

    steps = [
        (_add(proposal, "team"), {"username": "oliver"}),
        (
            _add(proposal, "team"),
            {
                "name": "Li Wei",
                "email": "li@example.org",
                "institution_name": "IGG",
                "country": "cn",
            },
        ),
        (
            _add(proposal, "method"),
            {"technique": "TEM", "destructive": "on", "mass": "2.5", "unit": "mg"},
        ),
        (
            _add(proposal, "item"),
            {
                "mission": "CE5",
                "pool": Pool.RESEARCH,
                "form": Form.SCOOPED_REGOLITH,
                "requested_mass": "0.0125",
                "minimum_mass": "0.005",
                "unit": "g",
            },
        ),
        (
            _add(proposal, "item"),
            {"mission": "CE5", "pool": Pool.RESEARCH, "form": Form.THIN_SECTION, "units": "2"},
        ),
        (_edit(proposal, 5), {"prior_results": "Two papers.", "data_sharing_plan": "Open."}),
        (_add(proposal, "doi"), {"doi": "https://doi.org/10.1038/S41586-021-04100-2"}),
        (
            _add(proposal, "attachment"),
            {
                "file": SimpleUploadedFile(
                    "case.pdf", b"%PDF-1.7 science\n%%EOF\n", "application/pdf"
                )
            },
        ),
    ]
    for url, data in steps:
        _saved(client.post(url, data))

    proposal.refresh_from_db()
    assert [m.name for m in proposal.team.all()] == ["Oliver", "Li Wei"]
    assert proposal.team.get(name="Li Wei").country == "CN"
    assert proposal.methods.get().mass_ug == 2500
    regolith, sections = proposal.items.order_by("id")
    assert (regolith.requested_mass_ug, regolith.minimum_mass_ug) == (12_500, 5_000)
    assert sections.units == 2
    assert proposal.prior_dois.get().doi == "10.1038/s41586-021-04100-2"
    assert proposal.attachments.get().name == "case.pdf"

    review_page = client.get(_edit(proposal, 6))
    assert review_page.context["problems"] == []
    assert all(complete for _n, _label, complete in review_page.context["steps"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("calls:proposal-submit", args=[proposal.pk]))
    assert response["Location"] == reverse("calls:proposal-detail", args=[proposal.pk])
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SUBMITTED
    assert mail.outbox[-1].to == ["amelie@example.org"]

    detail = client.get(reverse("calls:proposal-detail", args=[proposal.pk]))
    assert detail.context["version"].number == 1
    assert "Agglutinate glass" in detail.content.decode()
    # The submitted version is frozen: the editor sends the applicant to the read-only page.
    assert client.get(_edit(proposal, 1))["Location"] == detail.request["PATH_INFO"]
    response = client.post(_edit(proposal, 1), {"title": "Changed"})
    proposal.refresh_from_db()
    assert proposal.title == "Agglutinate glass"


def test_the_step_navigation_marks_what_is_still_to_do(client, people, open_call):
    proposal = calls.proposal_create(actor=people.applicant, call_id=open_call.pk, title="T")
    log_in(client, people.applicant)
    steps = client.get(_edit(proposal, 1)).context["steps"]
    complete = {n for n, _label, done in steps if done}
    assert complete == {2}  # the team is optional; everything else still needs work
    problems = client.get(_edit(proposal, 6)).context["problems"]
    assert {step for step, _message in problems} == {1, 3, 4, 5}
    page = client.get(_edit(proposal, 6)).content.decode()
    assert _edit(proposal, 3) in page  # each problem links to its step


def test_a_mass_that_is_not_a_whole_number_of_micrograms_is_shown_next_to_its_field(
    client, people, open_call
):
    proposal = calls.proposal_create(actor=people.applicant, call_id=open_call.pk)
    log_in(client, people.applicant)
    response = client.post(
        _add(proposal, "item"),
        {
            "mission": "CE5",
            "pool": Pool.RESEARCH,
            "form": Form.SCOOPED_REGOLITH,
            "requested_mass": "0.0000001",
            "minimum_mass": "lots",
            "unit": "g",
        },
    )
    assert response.status_code == 400
    form = response.context["item_form"]
    assert "not a whole number of micrograms" in form.errors["requested_mass"][0]
    assert "is not a number" in form.errors["minimum_mass"][0]
    assert 'id="id_requested_mass_error"' in response.content.decode()
    assert not proposal.items.exists()


def test_service_refusals_land_on_the_field_they_name(client, people, open_call):
    proposal = calls.proposal_create(actor=people.applicant, call_id=open_call.pk)
    log_in(client, people.applicant)
    cases = [
        ("item", {"mission": "CE5", "pool": Pool.RESEARCH, "form": Form.POWDER}, "form"),
        (
            "item",
            {
                "mission": "CE5",
                "pool": Pool.RESEARCH,
                "form": Form.SCOOPED_REGOLITH,
                "requested_mass": "3",
                "minimum_mass": "1",
                "unit": "g",
            },
            "requested_mass",
        ),
        ("item", {"sample_identifier": "CE5NOPE"}, "sample_identifier"),
        ("method", {"technique": "SIMS", "destructive": "on", "mass": "0"}, "mass"),
        ("team", {"username": "nobody-here"}, "username"),
        ("team", {"name": "Li", "institution_name": "IGG", "country": "China"}, "country"),
        ("doi", {"doi": "not a doi"}, "doi"),
        (
            "attachment",
            {"file": SimpleUploadedFile("x.pdf", b"MZ\x90\x00", "application/pdf")},
            "file",
        ),
    ]
    for part, data, field in cases:
        response = client.post(_add(proposal, part), data)
        assert response.status_code == 400, (part, data)
        form = response.context[f"{part}_form"]
        assert field in form.errors, (part, data, form.errors)
    assert not proposal.items.exists()
    assert not proposal.methods.exists()
    assert not proposal.team.exists()
    assert not proposal.prior_dois.exists()
    assert not proposal.attachments.exists()


def test_htmx_adds_and_removes_rows_without_a_full_page(client, people, open_call):
    proposal = calls.proposal_create(actor=people.applicant, call_id=open_call.pk)
    log_in(client, people.applicant)
    response = client.post(
        _add(proposal, "method"), {"technique": "Raman", "mass": "0", "unit": "mg"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="methods"' in body and "Raman" in body
    assert 'hx-swap-oob="true"' in body  # the step navigation follows
    method = proposal.methods.get()

    response = client.post(_add(proposal, "method"), {"technique": "", "mass": "1"}, **HTMX)
    assert response.status_code == 400
    assert "name the technique" in response.content.decode()

    response = client.post(
        reverse("calls:part-remove", args=[proposal.pk, "method", method.pk]), **HTMX
    )
    assert response.status_code == 200
    assert "Raman" not in response.content.decode()
    assert not proposal.methods.exists()


def test_removing_a_part_of_someone_elses_proposal_is_refused(client, people, open_call):
    mine = complete_proposal(open_call, people.applicant)
    theirs = complete_proposal(open_call, people.other_applicant)
    log_in(client, people.applicant)
    item = theirs.items.get()
    response = client.post(reverse("calls:part-remove", args=[mine.pk, "item", item.pk]))
    assert response.status_code == 404
    assert theirs.items.exists()


def test_an_incomplete_proposal_is_refused_with_every_problem_listed(client, people, open_call):
    proposal = calls.proposal_create(actor=people.applicant, call_id=open_call.pk, title="T")
    log_in(client, people.applicant)
    response = client.post(reverse("calls:proposal-submit", args=[proposal.pk]))
    assert response.status_code == 400
    body = response.content.decode()
    assert "the proposal is incomplete" in body
    assert "request at least one sample item" in body
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DRAFT


def test_the_applicant_withdraws_a_submitted_proposal(client, people, open_call):
    proposal = complete_proposal(open_call, people.applicant)
    calls.proposal_submit(actor=people.applicant, proposal_id=proposal.pk)
    log_in(client, people.applicant)
    response = client.post(
        reverse("calls:proposal-withdraw", args=[proposal.pk]), {"reason": "team left"}
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.WITHDRAWN
    response = client.post(reverse("calls:proposal-withdraw", args=[proposal.pk]), {})
    assert response.status_code == 400
    assert "cannot be withdrawn" in response.content.decode()


def test_after_the_decision_the_applicant_sees_amounts_reasons_and_comments(
    client, people, round_in_ranking
):
    proposal = round_in_ranking.proposal
    item = proposal.items.get()
    calls.proposal_decide(
        actor=people.committee,
        proposal_id=proposal.pk,
        approved={item.pk: 250 * MG},
        reasons={item.pk: "ranked 1 of 2; the research pool had 0.25 g left"},
        comment="Well argued.",
    )
    log_in(client, people.applicant)
    url = reverse("calls:proposal-detail", args=[proposal.pk])
    assert "250 mg" not in client.get(url).content.decode(), "shown before publication"
    second = round_in_ranking.second
    calls.proposal_decide(
        actor=people.committee,
        proposal_id=second.pk,
        approved={},
        reasons={i.pk: "ranked 2 of 2; nothing left" for i in second.items.all()},
    )
    calls.call_transition(
        actor=people.committee, call_id=proposal.call_id, to_status=CallStatus.DECIDED
    )
    response = client.get(url)
    body = response.content.decode()
    assert "Partly approved" in body
    assert "250 mg" in body
    assert "the research pool had 0.25 g left" in body
    assert "Well argued." in body
    assert "Comment for the applicant from rosa" in body
    assert "Confidential note" not in body
    assert "Withdraw the proposal" not in body


def test_a_proposal_cannot_be_started_on_a_call_that_is_not_open(client, people, round_in_review):
    log_in(client, people.applicant)
    response = client.post(reverse("calls:proposal-start", args=[round_in_review.call.pk]))
    assert response.status_code == 409
    assert "not open" in response.content.decode()


def test_absurd_input_is_refused_as_a_form_error_never_a_server_error(client, people, open_call):
    proposal = calls.proposal_create(actor=people.applicant, call_id=open_call.pk)
    log_in(client, people.applicant)
    cases = [
        ("method", {"technique": "TEM", "destructive": "on", "mass": "1e30", "unit": "g"}, "mass"),
        ("method", {"technique": "T" * 500, "mass": "1"}, "technique"),
        ("method", {"technique": "TEM", "mass": "NaN"}, "mass"),
        ("item", {"mission": "CE5", "form": Form.THIN_SECTION, "units": "99999999"}, "units"),
        ("item", {"mission": "Apollo", "pool": "attic", "form": "cheese"}, "mission"),
        ("team", {"name": "N" * 300, "institution_name": "IGG", "country": "CN"}, "name"),
    ]
    for part, data, field in cases:
        response = client.post(_add(proposal, part), data)
        assert response.status_code == 400, (part, data)
        assert field in response.context[f"{part}_form"].errors, (part, data)
    assert client.get(_edit(proposal, 99)).status_code == 302
    assert client.post(_add(proposal, "nonsense"), {}).status_code == 302
    missing = reverse("calls:part-remove", args=[proposal.pk, "item", 10**9])
    assert client.post(missing).status_code == 404
    assert not proposal.methods.exists() and not proposal.items.exists()
