"""Allocation plans proposed by the optimizer, and the allocations a committee decides."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from moonvault.accounts.models import Institution
from moonvault.allocation.messages import RANKED
from moonvault.calls.models import Call, RequestedItem
from moonvault.catalog.models import Mission, Sample


class AllocationPlan(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPLIED = "applied", _("Applied")
        SUPERSEDED = "superseded", _("Superseded")

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="plans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    pinned = models.JSONField(default=list, help_text="requested item ids funded first")
    excluded = models.JSONField(default=list, help_text="requested item ids left out")
    handling_loss_ug = models.PositiveIntegerField(_("handling loss per split (µg)"))
    min_split_ug = models.PositiveIntegerField(_("smallest portion (µg)"))
    budget_ug = models.BigIntegerField()
    funded_requests = models.PositiveIntegerField(default=0)
    funded_mass_ug = models.BigIntegerField(default=0)
    splits = models.PositiveIntegerField(default=0)
    rank_rule_exact = models.BooleanField(default=True)
    gap = models.FloatField(default=0)
    solve_seconds = models.FloatField(default=0)
    notes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    applied_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["call"], condition=models.Q(status="applied"), name="one_applied_plan"
            )
        ]


class PlanOutcome(models.Model):
    """What the plan gives one requested item, and why it is cut or unfunded."""

    plan = models.ForeignKey(AllocationPlan, on_delete=models.CASCADE, related_name="outcomes")
    item = models.ForeignKey(RequestedItem, on_delete=models.CASCADE, related_name="+")
    unit = models.PositiveSmallIntegerField(default=0, help_text="which unit of a whole-unit item")
    rank = models.PositiveIntegerField()
    status = models.CharField(max_length=10)
    funded_mass_ug = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=20, blank=True)
    # In English, for the API and the decision record; pages show `explanation_shown`.
    explanation = models.TextField(blank=True)
    # The same explanation as the optimizer's message (English, marked for translation) and its
    # values, so that each reader gets it in their language. Empty on plans made before.
    detail = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    ranked_of = models.PositiveIntegerField(default=0)

    # The optimizer's reason codes.
    REASONS = {
        "budget": _("the call's release budget"),
        "reserve": _("the mission's reserve"),
        "source_exhausted": _("no eligible sample has enough mass left"),
        "country_cap": _("the country's share cap"),
        "below_minimum": _("less than the minimum useful mass is left"),
        "partner_unfunded": _("an all-or-nothing partner request is not funded"),
        "undetermined": _("undetermined: the solver ran out of time"),
        "excluded": _("excluded by the committee"),
    }

    class Meta:
        ordering = ["plan", "rank", "item", "unit"]

    @property
    def explanation_shown(self) -> str:
        """The explanation in the reader's language."""
        if not self.detail:
            return self.explanation
        why = gettext(self.detail) % self.params
        if not self.ranked_of:
            return why
        return gettext(RANKED) % {"rank": self.rank, "of": self.ranked_of, "why": why}

    @property
    def verdict(self) -> str:
        """The outcome and its binding reason in the reader's language."""
        reason = self.REASONS.get(self.reason, self.reason)
        if self.status == "full":
            return str(_("Funded in full"))
        if self.status == "partial":
            return str(_("Cut back: %(reason)s")) % {"reason": reason}
        return str(_("Not funded: %(reason)s")) % {"reason": reason}


class PlanLine(models.Model):
    outcome = models.ForeignKey(PlanOutcome, on_delete=models.CASCADE, related_name="lines")
    source = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    mass_ug = models.BigIntegerField()
    whole = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(mass_ug__gt=0), name="plan_line_mass_pos")
        ]


class Allocation(models.Model):
    """A portion set aside for a requested item: a new split, or a whole sample.

    What the public reports count released mass by is recorded when the allocation is made (the
    committee applies its plan), so that each report is one GROUP BY over this table alone: the
    requested item's `mission`, and the principal investigator's `institution` and that
    institution's `country` at that moment. Mass released to an institution stays with it when
    the PI moves to another one later. A PI without an institution leaves both empty.
    """

    item = models.ForeignKey(RequestedItem, on_delete=models.PROTECT, related_name="allocations")
    # Not indexed alone: the indexes below begin with them.
    mission = models.ForeignKey(Mission, on_delete=models.PROTECT, related_name="+", db_index=False)
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    plan = models.ForeignKey(
        AllocationPlan, on_delete=models.PROTECT, null=True, related_name="allocations"
    )
    source = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    sample = models.OneToOneField(Sample, on_delete=models.PROTECT, related_name="allocation")
    mass_ug = models.BigIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(mass_ug__gt=0), name="allocation_mass_pos"),
            # The country is the institution's: both recorded, or neither.
            models.CheckConstraint(
                condition=models.Q(institution__isnull=True, country="")
                | (models.Q(institution__isnull=False) & ~models.Q(country="")),
                name="allocation_country_with_institution",
            ),
        ]
        # The transparency tables' GROUP BYs, each read from one index alone (index-only scans
        # on PostgreSQL): per mission, country and institution; the years and the last 365
        # days' releases from the one by date.
        indexes = [
            models.Index(fields=["mission", "mass_ug"], name="allocation_mission"),
            models.Index(fields=["created_at", "mission", "mass_ug"], name="allocation_created"),
            models.Index(fields=["country", "mass_ug"], name="allocation_country"),
            models.Index(
                fields=["institution", "country", "mass_ug"], name="allocation_institution"
            ),
        ]
