"""Login lockout, in front of Django's model backend."""

from axes.backends import AxesStandaloneBackend


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
