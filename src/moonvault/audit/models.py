"""The audit log: who logged in, who was refused, who decided, who changed what in the admin.

Entries are append-only: database triggers (migration 0002) refuse UPDATE and DELETE, as they do
for custody events. The actor is kept as a plain id and a name copied at the time, so that deleting
a user never has to touch the log.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    class Kind(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKOUT = "lockout", _("Lockout")
        LOGOUT = "logout", _("Logout")
        SECOND_FACTOR = "second_factor", _("Second factor")
        REFUSAL = "refusal", _("Permission refused")
        DECISION = "decision", _("Decision")
        ADMIN_CHANGE = "admin_change", _("Administrative change")

    at = models.DateTimeField(_("when"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(_("who"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    target = models.CharField(_("concerning"), max_length=200, blank=True)
    summary = models.CharField(_("what"), max_length=500)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["kind", "at"], name="audit_kind_at"),
            models.Index(fields=["actor_name", "at"], name="audit_actor_at"),
            models.Index(fields=["at"], name="audit_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.actor_name}: {self.summary}"
