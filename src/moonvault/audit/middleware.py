"""Every refused request (status 403) goes to the audit log, wherever the refusal came from:
the API's error handler, a page's role check, Django's own 403 handler, CSRF, the second factor."""

import json

from django.core.exceptions import PermissionDenied

from moonvault.audit.models import AuditEntry
from moonvault.audit.services import audit_record


class RefusalAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            user = getattr(request, "user", None)
            audit_record(
                kind=AuditEntry.Kind.REFUSAL,
                actor=user,
                target=f"{request.method} {request.path}",
                summary=self.reason(request, response),
                request=request,
            )
        return response

    def process_exception(self, request, exception):
        # Django's PermissionDenied becomes a bare 403 page; keep its message for the log.
        if isinstance(exception, PermissionDenied):
            request.audit_reason = str(exception) or "permission denied"

    @staticmethod
    def reason(request, response) -> str:
        if getattr(request, "audit_reason", ""):
            return request.audit_reason
        if response.get("Content-Type", "").startswith("application/json"):
            try:
                return str(json.loads(response.content).get("detail", ""))[:500] or "refused"
            except (ValueError, AttributeError):
                return "refused"
        return "refused"
