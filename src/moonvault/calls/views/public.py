"""Pages everyone may read: the calls and, once decided, their outcome in aggregate."""

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.calls import selectors
from moonvault.calls.models import CallStatus
from moonvault.calls.views.access import domain_errors, page
from moonvault.calls.views.display import offer_labels


@domain_errors
def call_list(request):
    calls = list(selectors.call_list())
    return page(
        request,
        "calls/call_list.html",
        {
            "open_calls": [c for c in calls if c.status == CallStatus.OPEN],
            "past_calls": [c for c in calls if c.status != CallStatus.OPEN],
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
