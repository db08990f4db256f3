"""Conflict declarations, reviewer assignments, reviews and the committee's ranking."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from moonvault.calls.models import Call, Proposal

SCORE_RANGE = (1, 5)


class ConflictDeclaration(models.Model):
    """What a reviewer said after seeing only the title and team."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="declarations")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="declarations"
    )
    conflicted = models.BooleanField(_("conflict of interest"))
    reason = models.TextField(_("reason"), blank=True)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["proposal", "reviewer"], name="declaration_unique")
        ]


class Assignment(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        OPTIMIZER = "optimizer", _("Optimizer")

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "reviewer"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "reviewer"], name="assignment_unique")
        ]


class Review(models.Model):
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="review")
    merit = models.PositiveSmallIntegerField(_("scientific merit"))
    feasibility = models.PositiveSmallIntegerField(_("feasibility and capability"))
    justification = models.PositiveSmallIntegerField(_("justification of mass and samples"))
    comments_to_applicant = models.TextField(_("comments to the applicant"))
    comments_to_committee = models.TextField(
        _("confidential comments to the committee"), blank=True
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(merit__gte=1, merit__lte=5)
                & models.Q(feasibility__gte=1, feasibility__lte=5)
                & models.Q(justification__gte=1, justification__lte=5),
                name="review_scores_1_to_5",
            )
        ]

    @property
    def overall(self) -> float:
        return (self.merit + self.feasibility + self.justification) / 3


class RankEntry(models.Model):
    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="rank")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="ranking")
    computed_rank = models.PositiveIntegerField()
    final_rank = models.PositiveIntegerField()
    raw_mean = models.FloatField()
    corrected_mean = models.FloatField()
    spread = models.FloatField()
    reason = models.TextField(blank=True, help_text="why the final rank differs from the computed")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["call", "final_rank"]
        constraints = [
            models.UniqueConstraint(fields=["call", "final_rank"], name="rank_unique_in_call")
        ]
