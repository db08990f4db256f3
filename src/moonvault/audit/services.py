"""Writing to the audit log. Every other app records through `audit_record`."""

from django.db import transaction

from moonvault.audit.models import AuditEntry


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    kind: str,
    summary: str,
    actor=None,
    actor_name: str = "",
    target: str = "",
    request=None,
) -> AuditEntry:
    """Append one entry. Inside a caller's transaction the entry stands or falls with its change,
    so a decision that rolls back leaves no trace claiming it happened."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        return AuditEntry.objects.create(
            kind=kind,
            summary=summary[:500],
            actor=actor,
            actor_name=(actor.get_username() if actor is not None else actor_name)[:150],
            target=target[:200],
            ip=client_ip(request),
            path=(request.path if request is not None else "")[:300],
        )
