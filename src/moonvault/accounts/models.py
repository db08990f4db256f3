"""Institutions, people and their roles.

A person is a Django user plus a profile; roles are Django groups so that administrators manage
them with the tools they already know. API tokens are stored as SHA-256 digests only.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    REVIEWER = "reviewer", _("Reviewer")
    CURATOR = "curator", _("Curator")
    COMMITTEE = "committee", _("Committee")
    ADMINISTRATOR = "administrator", _("Administrator")


class Institution(models.Model):
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code"))
    ror = models.CharField(_("ROR id"), max_length=9, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "country"], name="institution_name_country"),
            models.UniqueConstraint(
                fields=["ror"], condition=~models.Q(ror=""), name="institution_ror_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="institution_country_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"


class Person(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person"
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="people", null=True, blank=True
    )
    orcid = models.CharField(_("ORCID iD"), max_length=19, blank=True)
    expertise = models.CharField(
        _("expertise keywords"), max_length=500, blank=True, help_text=_("comma-separated")
    )
    # Set by the daily obligations check; blocks new proposals from passing screening.
    obligations_overdue_since = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["orcid"], condition=~models.Q(orcid=""), name="person_orcid_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="first characters, to recognise a token")
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
