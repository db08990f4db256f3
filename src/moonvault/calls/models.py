"""Allocation rounds (calls), proposals and their eligibility, and the committee's decisions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from moonvault.accounts.models import Institution
from moonvault.catalog.models import Form, Mission, Pool, Sample


class CallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    SCREENING = "screening", _("Eligibility screening")
    REVIEW = "review", _("Review")
    RANKING = "ranking", _("Ranking")
    DECIDED = "decided", _("Decided")
    CLOSED_OUT = "closed_out", _("Closed out")


class Call(models.Model):
    title = models.CharField(_("title"), max_length=200)
    title_zh = models.CharField(_("Chinese title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CallStatus.choices, default=CallStatus.DRAFT
    )
    missions = models.ManyToManyField(Mission, related_name="calls", verbose_name=_("missions"))
    pools = models.JSONField(_("purpose pools offered"), default=list)
    forms = models.JSONField(_("sample forms offered"), default=list)
    release_budget_ug = models.BigIntegerField(_("mass that may be released (µg)"))
    per_proposal_cap_ug = models.BigIntegerField(_("mass cap per proposal (µg)"))
    intent_due = models.DateField(_("notice of intent due"), null=True, blank=True)
    proposals_due = models.DateTimeField(_("proposals due"))
    review_due = models.DateField(_("reviews due"))
    decision_due = models.DateField(_("decision due"))
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chaired_calls"
    )
    panel = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="review_panels", blank=True, verbose_name=_("panel")
    )
    reviewers_per_proposal = models.PositiveSmallIntegerField(
        _("reviewers per proposal"), default=3
    )
    max_reviewer_load = models.PositiveSmallIntegerField(
        _("maximum proposals per reviewer"), default=8
    )
    same_country_conflict = models.BooleanField(_("same country is a conflict"), default=False)
    coauthor_window_years = models.PositiveSmallIntegerField(
        _("co-authorship window (years)"), default=3
    )
    country_share_cap_pct = models.PositiveSmallIntegerField(
        _("largest share of the released mass per country (%)"), null=True, blank=True
    )
    all_or_nothing_default = models.BooleanField(
        _("proposals all-or-nothing by default"), default=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-proposals_due"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(release_budget_ug__gt=0), name="call_budget_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(per_proposal_cap_ug__gt=0), name="call_cap_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(reviewers_per_proposal__gte=1), name="call_k_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(country_share_cap_pct__isnull=True)
                | models.Q(country_share_cap_pct__gte=1, country_share_cap_pct__lte=100),
                name="call_country_cap_pct",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CallTransition(models.Model):
    """Who moved a call from one status to another (or extended its deadline), when and why."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=CallStatus.choices)
    to_status = models.CharField(max_length=12, choices=CallStatus.choices)
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for changes")
    INELIGIBLE = "ineligible", _("Ineligible")
    UNDER_REVIEW = "under_review", _("Under review")
    RANKED = "ranked", _("Ranked")
    APPROVED = "approved", _("Approved")
    PARTIALLY_APPROVED = "partially_approved", _("Partly approved")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


EDITABLE_STATUSES = frozenset({ProposalStatus.DRAFT, ProposalStatus.RETURNED})
DECIDED_STATUSES = frozenset(
    {ProposalStatus.APPROVED, ProposalStatus.PARTIALLY_APPROVED, ProposalStatus.DECLINED}
)


class Proposal(models.Model):
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="proposals")
    pi = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="proposals",
        verbose_name=_("principal investigator"),
    )
    title = models.CharField(_("title"), max_length=300, blank=True)
    abstract = models.TextField(_("abstract"), blank=True)
    science_case = models.TextField(_("science case"), blank=True)
    keywords = models.CharField(_("keywords"), max_length=500, blank=True)
    prior_results = models.TextField(_("prior results"), blank=True)
    data_sharing_plan = models.TextField(_("data-sharing plan"), blank=True)
    all_or_nothing = models.BooleanField(_("all or nothing"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["call", "id"]

    def __str__(self) -> str:
        return self.title or f"proposal {self.pk}"


class TeamMember(models.Model):
    """A co-investigator: a registered user, or just a name, email and institution."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    institution_name = models.CharField(_("institution"), max_length=200, blank=True)
    country = models.CharField(_("country"), max_length=2)

    class Meta:
        ordering = ["proposal", "id"]


class Method(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="methods")
    technique = models.CharField(_("technique"), max_length=200)
    destructive = models.BooleanField(_("destructive"))
    mass_ug = models.BigIntegerField(_("mass needed (µg)"))

    class Meta:
        ordering = ["proposal", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(mass_ug__gte=0), name="method_mass_nonneg")
        ]


class RequestedItem(models.Model):
    """A form from a mission and pool, or a named sample.

    Divisible forms are requested by mass (requested and minimum useful mass); whole units (thin
    sections, rock fragments, particles…) by a number of units.
    """

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="items")
    mission = models.ForeignKey(Mission, on_delete=models.PROTECT, related_name="+")
    pool = models.CharField(_("purpose pool"), max_length=16, choices=Pool.choices)
    form = models.CharField(_("form"), max_length=20, choices=Form.choices)
    sample = models.ForeignKey(
        Sample, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_mass_ug = models.BigIntegerField(_("requested mass (µg)"), default=0)
    minimum_mass_ug = models.BigIntegerField(_("minimum useful mass (µg)"), default=0)
    units = models.PositiveSmallIntegerField(_("whole units"), default=0)
    justification = models.TextField(_("justification"), blank=True)

    class Meta:
        ordering = ["proposal", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(minimum_mass_ug__gte=0)
                & models.Q(minimum_mass_ug__lte=models.F("requested_mass_ug")),
                name="item_minimum_within_request",
            )
        ]


class PriorPublication(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="prior_dois")
    doi = models.CharField(_("DOI"), max_length=200)

    class Meta:
        ordering = ["proposal", "id"]


class Attachment(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="proposals/%Y/")
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "id"]


class ProposalVersion(models.Model):
    """The frozen text of a submission; each resubmission after a return adds one."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveSmallIntegerField()
    content = models.JSONField()
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["proposal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="proposal_version_unique")
        ]


class ProposalAction(models.Model):
    """The proposal's history: each action, by whom and why."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class Screening(models.Model):
    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="screening")
    checks = models.JSONField(help_text="[{rule, passed, message}] from the automatic checks")
    automatic_eligible = models.BooleanField()
    eligible = models.BooleanField(null=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True)
    reason = models.TextField(blank=True)


class Decision(models.Model):
    proposal = models.OneToOneField(Proposal, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=20, choices=ProposalStatus.choices)
    comment = models.TextField(_("comment to the applicant"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)


class DecisionItem(models.Model):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="items")
    item = models.OneToOneField(RequestedItem, on_delete=models.CASCADE, related_name="decision")
    approved_mass_ug = models.BigIntegerField(default=0)
    approved_units = models.PositiveSmallIntegerField(default=0)
    reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approved_mass_ug__gte=0), name="decision_item_mass_nonneg"
            )
        ]
