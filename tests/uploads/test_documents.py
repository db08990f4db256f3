"""Uploaded documents are stored outside the web root and read only through views that check
the viewer; a field error names the problem when an upload is refused on a page."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from moonvault.calls.models import Attachment
from moonvault.loans.services import research
from moonvault.review.models import Assignment
from tests.web_loans.conftest import field_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(decided, real_pdf):
    return Attachment.objects.create(
        proposal=decided.proposal,
        file=ContentFile(real_pdf, name="case.pdf"),
        name="case.pdf",
        size=len(real_pdf),
    )


@pytest.fixture
def signed_loan(decided, loan, real_pdf):
    return research.loan_record_signature(
        actor=decided.pi,
        loan_id=loan.pk,
        signed_by_name="A. Official",
        signed_pdf=SimpleUploadedFile("signed.pdf", real_pdf),
    )


def reviewers_of(decided, round_people):
    assigned = set(
        Assignment.objects.filter(proposal=decided.proposal).values_list("reviewer", flat=True)
    )
    _, _, reviewers = round_people
    return (
        [r for r in reviewers if r.pk in assigned],
        [r for r in reviewers if r.pk not in assigned],
    )


def fetch(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_an_upload_is_stored_under_media_root_outside_the_static_root(attachment):
    stored = Path(attachment.file.path).resolve()
    media = Path(settings.MEDIA_ROOT).resolve()
    assert stored.is_relative_to(media)
    assert not media.is_relative_to(Path(settings.STATIC_ROOT).resolve())


def test_no_public_url_serves_uploads(client, attachment, decided):
    client.force_login(decided.pi)
    assert client.get(f"/{settings.MEDIA_URL}{attachment.file.name}").status_code == 404
    assert client.get(f"/static/{attachment.file.name}").status_code == 404


def test_the_principal_investigator_reads_their_attachment(client, decided, attachment, real_pdf):
    response = fetch(client, decided.pi, reverse("document-attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'attachment; filename="case.pdf"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == real_pdf


def test_curators_committee_and_assigned_reviewers_read_an_attachment(
    client, decided, attachment, round_people
):
    assigned, _ = reviewers_of(decided, round_people)
    url = reverse("document-attachment", args=[attachment.pk])
    for user in [decided.curator, decided.committee, *assigned]:
        assert fetch(client, user, url).status_code == 200, user.username


def test_other_applicants_and_unassigned_reviewers_are_told_it_does_not_exist(
    client, decided, attachment, round_people
):
    _, unassigned = reviewers_of(decided, round_people)
    url = reverse("document-attachment", args=[attachment.pk])
    for user in [decided.other_applicant, *unassigned]:
        assert fetch(client, user, url).status_code == 404, user.username


def test_anonymous_visitors_are_asked_to_log_in(client, attachment):
    response = client.get(reverse("document-attachment", args=[attachment.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_signed_agreement_is_read_by_its_pi_curators_and_committee_only(
    client, decided, signed_loan, real_pdf
):
    url = reverse("document-agreement", args=[signed_loan.pk])
    for user in [decided.pi, decided.curator, decided.committee]:
        assert fetch(client, user, url).status_code == 200, user.username
    for user in [decided.other_applicant, decided.reviewer]:
        assert fetch(client, user, url).status_code == 404, user.username


def test_the_loan_page_links_the_agreement_through_the_checking_view(client, decided, signed_loan):
    page = fetch(client, decided.pi, reverse("loans:loan-detail", args=[signed_loan.pk]))
    assert reverse("document-agreement", args=[signed_loan.pk]) in page.content.decode()
    assert signed_loan.signed_pdf.name not in page.content.decode()


def test_an_agreement_not_uploaded_does_not_exist(client, decided, loan):
    response = fetch(client, decided.curator, reverse("document-agreement", args=[loan.pk]))
    assert response.status_code == 404


def test_a_signed_agreement_that_is_not_a_pdf_is_refused_on_its_field(decided, loan):
    with pytest.raises(research.DomainError) as caught:
        research.loan_record_signature(
            actor=decided.pi,
            loan_id=loan.pk,
            signed_by_name="A. Official",
            signed_pdf=SimpleUploadedFile("signed.pdf", b"GIF89a not a pdf"),
        )
    assert caught.value.problems[0].field == "signed_pdf"
    loan.refresh_from_db()
    assert not loan.signed_pdf


def test_the_loan_page_names_the_field_when_the_signed_file_is_not_a_pdf(client, decided, loan):
    client.force_login(decided.pi)
    response = client.post(
        reverse("loans:loan-action", args=[loan.pk, "upload"]),
        {
            "upload-signed_by_name": "A. Official",
            "upload-signed_pdf": SimpleUploadedFile("signed.pdf", b"GIF89a not a pdf"),
        },
    )
    assert response.status_code == 400
    assert field_error(response, "upload-signed_pdf") == "only PDF files are accepted"
    loan.refresh_from_db()
    assert loan.status == loan.Status.AGREEMENT


def test_the_loan_page_accepts_a_real_signed_pdf(client, decided, loan, real_pdf):
    client.force_login(decided.pi)
    client.post(
        reverse("loans:loan-action", args=[loan.pk, "upload"]),
        {
            "upload-signed_by_name": "A. Official",
            "upload-signed_pdf": SimpleUploadedFile("signed.pdf", real_pdf),
        },
    )
    loan.refresh_from_db()
    assert loan.signed_pdf and loan.signed_by_name == "A. Official"
