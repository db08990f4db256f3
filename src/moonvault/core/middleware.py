"""Input that no database column can hold is refused before it reaches a view.

No text column can hold NUL (PostgreSQL refuses it outright), and no id or count is outside the
64-bit integers (SQLite cannot even bind one), so a path, query parameter or JSON string carrying
either would otherwise fail deep in a query as a server error. Forms already refuse them field by
field; this covers what reaches views and API handlers without a form.
"""

import json
import re

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import translation

NUL = "\x00"
BIGINT = range(-(2**63), 2**63)


def out_of_range(value) -> bool:
    """An integer, or text that reads as one (as int() reads it), beyond the 64-bit integers."""
    if isinstance(value, str):
        digits = value.strip().lstrip("+-")
        if not (digits.isdecimal() and len(digits) > 18):
            return False
        try:
            return int(value) not in BIGINT
        except ValueError:
            return False
    return isinstance(value, int) and value not in BIGINT


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _field_with_nul(request) -> str | None:
    if NUL in request.path:
        return "path"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in v for v in values):
            return key.replace(NUL, "") or "query"
    if request.content_type == "application/json" and b"\\u0000" in request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            return None  # the API answers a body that is not JSON itself
        if _holds_nul(body):
            return "body"
    return None


def _holds_huge_number(value) -> bool:
    if isinstance(value, dict):
        return any(_holds_huge_number(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_huge_number(v) for v in value)
    return not isinstance(value, bool) and isinstance(value, int) and value not in BIGINT


def _json_holds_huge_number(request) -> bool:
    # Only a body with a run of 19 digits can hold one; the rest are let through unparsed.
    if request.content_type != "application/json" or not re.search(rb"\d{19}", request.body):
        return False
    try:
        return _holds_huge_number(json.loads(request.body))
    except ValueError:
        return False  # the API answers a body that is not JSON itself


def _refusal(request, field: str, message: str):
    if request.path.startswith("/api/"):
        problem = {"field": field, "message": message}
        return JsonResponse({"detail": message, "errors": [problem]}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class UnstorableInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _field_with_nul(request)
        if field is not None:
            return _refusal(
                request, field, f"{field} contains a NUL character, which no text may hold"
            )
        for key, values in request.GET.lists():
            if any(out_of_range(v) for v in values):
                return _refusal(request, key, f"{key} is a number out of range")
        if _json_holds_huge_number(request):
            return _refusal(request, "body", "body holds a number out of range")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for name, value in view_kwargs.items():
            if out_of_range(value):
                return _refusal(request, name, f"{name} is a number out of range")
        return None


class ApiLanguageMiddleware:
    """The JSON API answers in the language the client asks for (Accept-Language, or the
    language cookie of a browser session).

    Pages carry their language in the path (/zh-hans/...); API paths carry none, which
    LocaleMiddleware reads as the default language. Goes right after LocaleMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            translation.activate(translation.get_language_from_request(request))
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
