"""Text with a NUL character is refused before it reaches a view.

No text column can hold NUL (PostgreSQL refuses it outright), so a query parameter, path or JSON
string carrying one would otherwise fail deep in a query as a server error. Forms already refuse
it field by field; this covers what reaches views and API handlers without a form.
"""

import json

from django.http import HttpResponseBadRequest, JsonResponse

NUL = "\x00"


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


class NulRefusalMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _field_with_nul(request)
        if field is None:
            return self.get_response(request)
        message = f"{field} contains a NUL character, which no text may hold"
        if request.path.startswith("/api/"):
            problem = {"field": field, "message": message}
            return JsonResponse({"detail": message, "errors": [problem]}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
