"""Publications and their authors; loans build on these.

Authorship links a publication to registered people where they are known, so that co-authorship
conflicts of interest can be found automatically.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Publication(models.Model):
    doi = models.CharField(_("DOI"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=500)
    journal = models.CharField(_("journal"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["doi"], condition=~models.Q(doi=""), name="publication_doi_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Authorship(models.Model):
    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="authors")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="authorships",
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["publication", "position"]

    def __str__(self) -> str:
        return self.name


class Loan(models.Model):
    """A research loan: the agreement, its obligations, and the samples it covers."""

    class Status(models.TextChoices):
        AGREEMENT = "agreement", _("Awaiting signature")
        SIGNED = "signed", _("Signed")
        SHIPPED = "shipped", _("Shipped")
        ACTIVE = "active", _("Active")
        RETURNING = "returning", _("Returning")
        RETURNED = "returned", _("Returned")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("loan number"), max_length=20, unique=True)
    proposal = models.ForeignKey(
        "calls.Proposal", on_delete=models.PROTECT, related_name="loans", null=True, blank=True
    )
    pi = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="loans",
        verbose_name=_("principal investigator"),
    )
    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.PROTECT, related_name="loans"
    )
    official_name = models.CharField(_("authorized official"), max_length=200)
    allowed_techniques = models.TextField(_("allowed techniques"))
    destructive_allowed = models.BooleanField(_("destructive analysis allowed"), default=False)
    destructive_max_ug = models.BigIntegerField(_("destructive use up to (µg)"), default=0)
    starts_on = models.DateField(_("start"))
    ends_on = models.DateField(_("end"))
    inventory_due = models.DateField(_("next annual inventory due"))
    usage_report_due = models.DateField(_("usage report due"))
    return_due = models.DateField(_("remnants due back"))
    acknowledgement = models.TextField(_("acknowledgement text"))
    data_embargo_until = models.DateField(_("data embargo until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.AGREEMENT
    )
    signed_by_name = models.CharField(_("signed by"), max_length=200, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_pdf = models.FileField(upload_to="agreements/%Y/", blank=True)
    certificate_hash = models.CharField(
        _("ledger hash at certificate issue"), max_length=64, blank=True
    )
    certificate_seq = models.BigIntegerField(null=True, blank=True)
    certificate_issued_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(destructive_max_ug__gte=0), name="loan_destructive_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="loan_dates_order"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class LoanItem(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey(
        "catalog.Sample", on_delete=models.PROTECT, related_name="loan_items"
    )
    lent_mass_ug = models.BigIntegerField(_("mass lent (µg)"))
    subsplit_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="subsplits"
    )

    class Meta:
        ordering = ["loan", "id"]
        constraints = [models.UniqueConstraint(fields=["loan", "sample"], name="loan_item_unique")]


class Shipment(models.Model):
    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("To the borrower")
        RETURN = "return", _("Back to the repository")
        EXHIBITION = "exhibition", _("Exhibition transfer")

    class Status(models.TextChoices):
        PACKED = "packed", _("Packed")
        SHIPPED = "shipped", _("Shipped")
        RECEIVED = "received", _("Received")

    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, null=True, blank=True, related_name="shipments"
    )
    exhibition = models.ForeignKey(
        "loans.Exhibition",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PACKED)
    container_code = models.CharField(_("container"), max_length=64)
    seal_number = models.CharField(_("seal number"), max_length=64)
    nitrogen_purged = models.BooleanField(_("nitrogen-purged"), default=False)
    courier = models.CharField(_("courier"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    hand_carried_by = models.CharField(_("hand-carried by"), max_length=200, blank=True)
    hand_carry_log = models.TextField(_("hand-carry log"), blank=True)
    export_reference = models.CharField(_("export document"), max_length=100, blank=True)
    customs_reference = models.CharField(_("customs document"), max_length=100, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    packed_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    seal_intact = models.BooleanField(null=True)

    class Meta:
        ordering = ["-packed_at"]


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey("catalog.Sample", on_delete=models.PROTECT, related_name="+")
    mass_sent_ug = models.BigIntegerField()
    mass_received_ug = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "sample"], name="shipment_item_unique")
        ]


class Analysis(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="analyses")
    sample = models.ForeignKey("catalog.Sample", on_delete=models.PROTECT, related_name="+")
    technique = models.CharField(_("technique"), max_length=200)
    destructive = models.BooleanField(_("destructive"))
    mass_consumed_ug = models.BigIntegerField(_("mass consumed (µg)"), default=0)
    performed_on = models.DateField(_("date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "performed_on", "id"]


class UsageReport(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="usage_reports")
    text = models.TextField(_("report"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)


class InventoryReport(models.Model):
    """The borrower's annual inventory: mass and place of everything held."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="inventories")
    lines = models.JSONField(help_text="[{sample, mass_ug, place}]")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)


class DataDeposit(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="data_deposits")
    reference = models.CharField(_("DOI or URL"), max_length=300)
    embargo_until = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)


class Waiver(models.Model):
    class Obligation(models.TextChoices):
        USAGE_REPORT = "usage_report", _("Usage report")
        PUBLICATIONS = "publications", _("Publications")
        DATA = "data", _("Data deposit")

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="waivers")
    obligation = models.CharField(max_length=14, choices=Obligation.choices)
    reason = models.TextField()
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    waived_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "obligation"], name="waiver_unique")]


class PublicationUse(models.Model):
    """Which samples (and loan) a publication used."""

    publication = models.ForeignKey(Publication, on_delete=models.CASCADE, related_name="uses")
    sample = models.ForeignKey(
        "catalog.Sample", on_delete=models.PROTECT, related_name="publications"
    )
    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, null=True, blank=True, related_name="publications"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["publication", "sample"], name="publication_use_unique")
        ]


class Exhibition(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        TRAVELLING = "travelling", _("Travelling")
        ON_DISPLAY = "on_display", _("On display")
        RETURNED = "returned", _("Returned")

    title = models.CharField(_("title"), max_length=200)
    organiser = models.CharField(_("organiser"), max_length=200)
    starts_on = models.DateField(_("opens"))
    ends_on = models.DateField(_("closes"))
    responsible_official = models.CharField(_("responsible official"), max_length=200)
    deputy_official = models.CharField(_("deputy"), max_length=200)
    continuous_watch = models.BooleanField(_("continuous watch"), default=True)
    locked_case = models.BooleanField(_("locked, sealed case"), default=True)
    transfer_log = models.BooleanField(_("transfer log kept"), default=True)
    insurance_value = models.DecimalField(_("insurance value"), max_digits=14, decimal_places=2)
    insurance_currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.title


class ExhibitionItem(models.Model):
    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey("catalog.Sample", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exhibition", "sample"], name="exhibition_item_unique")
        ]


class ItineraryStop(models.Model):
    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="stops")
    order = models.PositiveSmallIntegerField()
    venue = models.CharField(_("venue"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2)
    arrive_on = models.DateField(_("arrives"))
    depart_on = models.DateField(_("departs"))

    class Meta:
        ordering = ["exhibition", "order"]
        constraints = [
            models.UniqueConstraint(fields=["exhibition", "order"], name="itinerary_order_unique")
        ]


class Handover(models.Model):
    """One hand-over of the sealed case: who gave it to whom, where, and the seal check."""

    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="handovers")
    at = models.DateTimeField(_("when"))
    place = models.CharField(_("where"), max_length=200)
    from_party = models.CharField(_("handed over by"), max_length=200)
    to_party = models.CharField(_("received by"), max_length=200)
    seal_number = models.CharField(_("seal number"), max_length=64)
    seal_intact = models.BooleanField(_("seal intact"))
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["exhibition", "at"]


class StockCheck(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    location = models.ForeignKey(
        "catalog.StorageLocation", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)


class StockCheckLine(models.Model):
    stock_check = models.ForeignKey(StockCheck, on_delete=models.CASCADE, related_name="lines")
    sample = models.ForeignKey("catalog.Sample", on_delete=models.PROTECT, related_name="+")
    expected_mass_ug = models.BigIntegerField()
    found = models.BooleanField(null=True)
    measured_mass_ug = models.BigIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["stock_check", "sample"]


class Incident(models.Model):
    """A discrepancy that a curator must resolve, ideally with a correcting custody event."""

    class Kind(models.TextChoices):
        MASS_ON_ARRIVAL = "mass_on_arrival", _("Mass differs on arrival")
        SEAL_BROKEN = "seal_broken", _("Seal broken")
        MASS_ON_RETURN = "mass_on_return", _("Mass differs on return")
        STOCK_CHECK = "stock_check", _("Stock check discrepancy")
        INVENTORY = "inventory", _("Annual inventory discrepancy")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    sample = models.ForeignKey(
        "catalog.Sample", on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    loan = models.ForeignKey(
        Loan, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    exhibition = models.ForeignKey(
        Exhibition, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    stock_check = models.ForeignKey(
        StockCheck, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    description = models.TextField()
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    resolution = models.TextField(blank=True)
    correcting_event_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-opened_at"]
