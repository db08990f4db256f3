"""Logins, logouts, lockouts and admin changes go to the audit log as they happen.

Roles are groups, changed in the admin, so a role granted or withdrawn arrives as an admin log
entry ("Changed Groups"). Group membership signals are not used: a backup restore replays them.
"""

from axes.signals import user_locked_out
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from moonvault.audit.models import AuditEntry
from moonvault.audit.services import audit_record

ADMIN_ACTIONS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


@receiver(user_logged_in, dispatch_uid="audit_login")
def on_login(sender, request, user, **kwargs):
    audit_record(kind=AuditEntry.Kind.LOGIN, actor=user, summary="logged in", request=request)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def on_logout(sender, request, user, **kwargs):
    audit_record(kind=AuditEntry.Kind.LOGOUT, actor=user, summary="logged out", request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in `credentials`.
    audit_record(
        kind=AuditEntry.Kind.LOGIN_FAILED,
        actor_name=str(credentials.get("username", "")),
        summary="login failed",
        request=request,
    )


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def on_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        kind=AuditEntry.Kind.LOCKOUT,
        actor_name=username or "",
        summary=f"locked out after repeated failed logins from {ip_address}",
        request=request,
    )


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def on_admin_change(sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs):
    if not created or raw:
        return
    action = ADMIN_ACTIONS.get(instance.action_flag, "changed")
    model = instance.content_type.model if instance.content_type_id else "object"
    message = instance.get_change_message()
    audit_record(
        kind=AuditEntry.Kind.ADMIN_CHANGE,
        actor=instance.user,
        target=f"{model} {instance.object_repr}",
        summary=f"{action} in the admin" + (f": {message}" if message else ""),
    )
