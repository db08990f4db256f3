"""The JSON API: one NinjaAPI at /api/v1/ mounting each app's router, and one error shape.

Every 4xx answer is `{"detail": str, "errors": [{"field": str | null, "message": str}]}`.
"""

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, django_auth

from moonvault.accounts.api import router as accounts_router
from moonvault.accounts.selectors import user_for_token
from moonvault.allocation.api import router as allocation_router
from moonvault.calls.api import router as calls_router
from moonvault.catalog.api import router as catalog_router
from moonvault.catalog.api_exports import router as exports_router
from moonvault.core.errors import DomainError
from moonvault.custody.api import router as custody_router
from moonvault.custody.api_exports import router as ledger_exports_router
from moonvault.loans.api import router as loans_router
from moonvault.loans.api_exports import router as loan_exports_router
from moonvault.review.api import router as review_router
from moonvault.web.api import router as statistics_router


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mv_…`, for scripts."""

    def authenticate(self, request, token):
        found = user_for_token(token)
        if found is None:
            return None
        request.user, request.token_scope = found
        return request.user


api = NinjaAPI(
    title="Moonvault API",
    version="1",
    description=(
        "Lunar sample catalog, custody ledger and allocation rounds. Reads of the public catalog "
        "need no authentication; everything else takes a bearer token (`Authorization: Bearer "
        "mv_…`) or the browser session."
    ),
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
)


def error_body(detail: str, errors: list[dict]) -> dict:
    return {"detail": detail, "errors": errors}


def _field_from_loc(loc) -> str | None:
    # Only the first element says where the input came from; a field may itself be named "form".
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"query", "body", "path", "form", "file", "header", "cookie"}:
        # A JSON body is one schema parameter; its name in the handler means nothing to a caller.
        parts = parts[2:] if parts[0] == "body" and len(parts) > 2 else parts[1:]
    return ".".join(parts) or None


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = [{"field": _field_from_loc(e.get("loc", ())), "message": e["msg"]} for e in exc.errors]
    return api.create_response(request, error_body("invalid input", errors), status=422)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    errors = [{"field": p.field, "message": p.message} for p in exc.problems]
    return api.create_response(request, error_body(exc.message, errors), status=exc.status)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return api.create_response(
        request,
        error_body(
            "authentication required", [{"field": None, "message": "log in or send a bearer token"}]
        ),
        status=401,
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(
        request,
        error_body(str(exc), [{"field": None, "message": str(exc)}]),
        status=exc.status_code,
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(
        request,
        error_body("not found", [{"field": None, "message": str(exc) or "not found"}]),
        status=404,
    )


api.add_router("/", catalog_router)
api.add_router("/", exports_router)
api.add_router("/", custody_router)
api.add_router("/", accounts_router)
api.add_router("/", calls_router)
api.add_router("/", review_router)
api.add_router("/", loans_router)
api.add_router("/", allocation_router)
api.add_router("/", ledger_exports_router)
api.add_router("/", loan_exports_router)
api.add_router("/", statistics_router)
