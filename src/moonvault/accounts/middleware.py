"""The second factor: curators, committee members and administrators confirm a TOTP code after
their password before their session opens any page or API call (settings.SECOND_FACTOR_REQUIRED).

A bearer token is a factor of its own, so an API call carrying a valid token is left to the
token's scope and the services' role checks.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from moonvault.accounts.selectors import user_for_token, user_is_privileged

# Pages an unverified session still reaches: the ones that verify, and the way out.
OPEN_PAGES = {"second-factor", "second-factor-enrol", "login", "logout", "set_language"}


def session_must_verify(request) -> bool:
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return False
    return user_is_privileged(user)


def bearer_token_valid(request) -> bool:
    kind, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    return (
        kind.lower() == "bearer" and bool(raw.strip()) and user_for_token(raw.strip()) is not None
    )


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SECOND_FACTOR_REQUIRED and not self.open(request):
            if request.path.startswith("/api/"):
                if not bearer_token_valid(request) and session_must_verify(request):
                    message = _("confirm your second factor (TOTP code) on the site first")
                    body = {"detail": message, "errors": [{"field": None, "message": message}]}
                    return JsonResponse(body, status=403)
            elif session_must_verify(request):
                target = reverse("second-factor")
                return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def open(request) -> bool:
        try:
            return resolve(request.path_info).url_name in OPEN_PAGES
        except Resolver404:
            return False
