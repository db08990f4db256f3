"""Allocation plans proposed by the optimizer, and the allocations a committee decides."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from moonvault.allocation.messages import RANKED
from moonvault.calls.models import Call, RequestedItem
from moonvault.catalog.models import Sample


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
    """A portion set aside for a requested item: a new split, or a whole sample."""

    item = models.ForeignKey(RequestedItem, on_delete=models.PROTECT, related_name="allocations")
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
            models.CheckConstraint(condition=models.Q(mass_ug__gt=0), name="allocation_mass_pos")
        ]
