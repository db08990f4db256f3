"""What every API handler needs to know about the caller, whatever app it belongs to."""

from django.http import HttpResponse
from ninja import Schema
from ninja.renderers import JSONRenderer

from moonvault.accounts.models import ApiToken
from moonvault.accounts.selectors import user_for_token
from moonvault.core.errors import PermissionDenied


def require_write(request) -> None:
    """Refuse a change made with a read-only token.

    TokenAuth sets `request.token_scope`; a browser session has no token and acts with the full
    rights of its user. Roles are still checked by the service that makes the change.
    """
    scope = getattr(request, "token_scope", ApiToken.Scope.WRITE)
    if scope != ApiToken.Scope.WRITE:
        raise PermissionDenied(
            "this token may only read; changes need a token with the write scope", field="scope"
        )


def request_viewer(request):
    """The person behind a public read, so that it can show them more: session or bearer token.

    Public reads run without authentication, so a bad or missing token simply means a visitor.
    """
    if request.user.is_authenticated:
        return request.user
    kind, _, raw = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "bearer" and raw.strip():
        found = user_for_token(raw.strip())
        if found is not None:
            return found[0]
    return request.user


class ErrorItemOut(Schema):
    field: str | None
    message: str


class ErrorOut(Schema):
    """The one shape of every 4xx answer."""

    detail: str
    errors: list[ErrorItemOut]


def answers(status: int, schema, *, public: bool = False) -> dict:
    """A route's documented answers: its success and the errors it may give, in one shape."""
    errors = (400, 404, 409, 422) if public else (400, 401, 403, 404, 409, 422)
    return {status: schema, **dict.fromkeys(errors, ErrorOut)}


_JSON = JSONRenderer()


def json_answer(request, payload) -> HttpResponse:
    """A 200 whose payload is already plain data in the route's documented shape.

    Ninja validates a handler's result through the response schema, object by object; for a
    page of samples or a long timeline that costs several times the queries behind it. Routes
    that build their answer as plain rows return it through here, and their tests check it
    against the schema.
    """
    return HttpResponse(
        _JSON.render(request, payload, response_status=200),
        content_type=f"{_JSON.media_type}; charset={_JSON.charset}",
    )
