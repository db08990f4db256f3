"""Uploaded documents, streamed only to the people who may read them.

Uploads live under MEDIA_ROOT, which no URL serves: not whitenoise (it serves STATIC_ROOT only),
not a /media/ route. These views are the only way to read them, and each checks the viewer:
a proposal's attachments go to its principal investigator, its assigned reviewers who are not
conflicted, the committee once it is submitted, and curators; a signed loan agreement goes to the
loan's PI, curators and the committee. Anyone else is told the document does not exist.
"""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.calls.models import Attachment
from moonvault.calls.selectors import proposal_for_committee
from moonvault.core.errors import DomainError, NotFound
from moonvault.loans.models import Loan
from moonvault.loans.selectors import loan_get
from moonvault.review.selectors import proposal_for_reviewer


def attachment_for_viewer(*, viewer, attachment_id: int) -> Attachment:
    attachment = Attachment.objects.select_related("proposal").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("no such document", field="attachment")
    proposal = attachment.proposal
    if proposal.pi_id == viewer.pk or user_has_role(viewer, Role.CURATOR):
        return attachment
    for may_read in (
        lambda: proposal_for_committee(actor=viewer, proposal_id=proposal.pk),
        lambda: proposal_for_reviewer(reviewer=viewer, proposal_id=proposal.pk),
    ):
        try:
            may_read()
        except DomainError:
            continue
        return attachment
    raise NotFound("no such document", field="attachment")


def agreement_for_viewer(*, viewer, loan_id: int) -> Loan:
    if user_has_role(viewer, Role.COMMITTEE):
        loan = Loan.objects.filter(pk=loan_id).first()
    else:
        try:
            loan = loan_get(actor=viewer, loan_id=loan_id)
        except DomainError:
            loan = None
    if loan is None or not loan.signed_pdf:
        raise NotFound("no such document", field="loan")
    return loan


def _pdf(field_file, filename: str) -> FileResponse:
    response = FileResponse(
        field_file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def attachment_download(request, attachment_id: int):
    try:
        attachment = attachment_for_viewer(viewer=request.user, attachment_id=attachment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _pdf(attachment.file, attachment.name)


@login_required
def agreement_download(request, loan_id: int):
    try:
        loan = agreement_for_viewer(viewer=request.user, loan_id=loan_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return _pdf(loan.signed_pdf, f"loan-{loan.pk}-signed-agreement.pdf")
