"""Login lockout, in front of Django's model backend."""

from axes.backends import AxesStandaloneBackend
from axes.models import AccessAttempt


class LockoutBackend(AxesStandaloneBackend):
    """Refuses every login of a username and address locked out after repeated failures.

    Every login over HTTP (the login page, the admin) passes the request, so it is checked here.
    A call without a request is not a login attempt from the outside (the test client, a shell)
    and has no address to count failures against, so it goes straight to the model backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_username(request, credentials=None) -> str | None:
    """The username that failures are counted under: as sent, cut to the column that records
    them. No account has a name that long, so cutting joins no account's failures to another's;
    uncut, a longer name is refused by PostgreSQL and the login page fails."""
    if credentials:
        username = credentials.get("username")
    else:
        username = request.POST.get("username") if request is not None else None
    if not isinstance(username, str):
        return username
    return username[: AccessAttempt._meta.get_field("username").max_length]
