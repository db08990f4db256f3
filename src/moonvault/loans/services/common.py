"""Pieces shared by the loan services."""

from django.conf import settings
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.core.errors import NotFound
from moonvault.loans.models import Loan


def balance_tolerance_ug(mass_ug: int) -> int:
    """How far two weighings of the same material may differ: the larger of an absolute floor
    (the balance's readability) and a relative share (settings BALANCE_TOLERANCE_*)."""
    floor = getattr(settings, "BALANCE_TOLERANCE_UG", 20)
    per_mille = getattr(settings, "BALANCE_TOLERANCE_PER_MILLE", 2)
    return max(floor, mass_ug * per_mille // 1000)


def loan_for(actor, loan_id: int, *, lock: bool = True, borrower_may: bool = True) -> Loan:
    """The loan if the actor is a curator, or its PI when borrowers may act; else NotFound."""
    qs = Loan.objects.select_related("pi", "institution")
    if lock:
        qs = qs.select_for_update()
    loan = qs.filter(pk=loan_id).first()
    allowed = loan is not None and (
        user_has_role(actor, Role.CURATOR) or (borrower_may and loan.pi_id == actor.pk)
    )
    if not allowed:
        raise NotFound(_("loan %(loan_id)s does not exist") % {"loan_id": loan_id}, field="loan")
    return loan
