"""What every API handler needs, whatever app it belongs to: the caller, the one error shape,
and the pages of the lists that grow with the programme."""

from typing import Generic, TypeVar

from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Schema
from ninja.renderers import JSONRenderer
from pydantic import Field

from moonvault.accounts.models import ApiToken
from moonvault.accounts.selectors import user_for_token
from moonvault.core.db import QueryRows
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


# --- pages -------------------------------------------------------------------------------------

MAX_PAGE = 200


class PageQuery(Schema):
    """The query parameters of a paged list."""

    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"Rows on the page, 1 to {MAX_PAGE}.")
    offset: int = Field(0, ge=0, description="Rows of the whole list to skip before the page.")


Item = TypeVar("Item")


class Page(Schema, Generic[Item]):
    """One page of a list: ask for the next with `offset` increased by `limit` until `offset`
    reaches `count`; a page past the end is empty, not an error."""

    count: int = Field(description="Rows in the whole list, whatever the page.", examples=[1])
    limit: int = Field(examples=[50])
    offset: int = Field(examples=[0])
    items: list[Item]


def page_of(rows: QuerySet | QueryRows | list, page: PageQuery) -> dict:
    """One page of a list, in its selector's order, with the size of the whole list.

    A queryset is counted with one COUNT and only the page's rows are read; a list that its
    selector had to filter in Python is already whole, and is only cut.
    """
    count = len(rows) if isinstance(rows, list) else rows.count()
    # A page past the end needs no query: the count already says there is nothing to list.
    items = list(rows[page.offset : page.offset + page.limit]) if page.offset < count else []
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}
