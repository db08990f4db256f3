"""Pages everyone may read: the calls and, once decided, their outcome in aggregate."""

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.calls import selectors
from moonvault.calls.forms import CallFilter
from moonvault.calls.models import CallStatus
from moonvault.calls.views.access import domain_errors, page
from moonvault.calls.views.display import offer_labels
from moonvault.web.listing import listing


@domain_errors
def call_list(request):
    return page(
        request,
        "calls/call_list.html",
        {
            "open_calls": selectors.call_list(status=CallStatus.OPEN),
            "listing": listing(request, CallFilter, selectors.call_list),
        },
    )


@domain_errors
def call_detail(request, call_id: int):
    call = selectors.call_get(viewer=request.user, call_id=call_id)
    return page(
        request,
        "calls/call_detail.html",
        {
            "call": call,
            **offer_labels(call),
            "outcome": selectors.call_outcome(viewer=request.user, call_id=call.pk)
            if call.status in selectors.OUTCOME_STATUSES
            else None,
            "can_apply": call.status == CallStatus.OPEN
            and user_has_role(request.user, Role.APPLICANT),
        },
    )
