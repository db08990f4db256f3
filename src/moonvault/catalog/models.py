"""Missions, storage locations and samples with their genealogy.

Genealogy is a materialized path: each sample stores the fixed-width base-36 ids of its ancestors
and itself (`path`). Ancestors are one primary-key lookup of the ids parsed from the path;
descendants are one index range scan `path >= p AND path < p + "~"` (byte order, hence the "C"
collation on PostgreSQL). Both are single queries whatever the depth, and their cost grows with the
size of the answer, not of the table, which a closure table (rows per ancestor pair, up to 12x the
samples) or a recursive CTE (one index probe per level and node) would not give as cheaply at
1,000,000 samples. A sample never changes parent, so paths are written once.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from moonvault.core.db import ByteOrderCharField

PATH_SEGMENT = 7  # base-36 digits per level: 36**7 ≈ 7.8e10 ids
PATH_END = "~"  # sorts after every base-36 digit, so prefix + "~" bounds the descendant range
MAX_DEPTH = 255 // PATH_SEGMENT  # levels a path column of 255 characters can hold


class IdConvention(models.TextChoices):
    APOLLO = "apollo", _("Apollo: generic number, comma, split number")
    SUFFIX = "suffix", _("Parent identifier, hyphen, sequence number")


class Mission(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100, blank=True)
    agency = models.CharField(_("agency"), max_length=100)
    landing_site = models.CharField(_("landing site"), max_length=200, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=4, null=True)
    longitude = models.DecimalField(_("longitude"), max_digits=8, decimal_places=4, null=True)
    landed_on = models.DateField(_("landing date"), null=True, blank=True)
    returned_on = models.DateField(_("return date"), null=True, blank=True)
    returned_mass_ug = models.BigIntegerField(_("returned mass (µg)"))
    reserve_pct = models.PositiveSmallIntegerField(
        # xgettext:no-python-format
        _("reserve (% of returned mass never allocated)"),
        default=0,
    )
    id_convention = models.CharField(
        max_length=8, choices=IdConvention.choices, default=IdConvention.SUFFIX
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["landed_on", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(returned_mass_ug__gte=0), name="mission_returned_mass_nonneg"
            ),
            models.CheckConstraint(
                condition=models.Q(reserve_pct__lte=100), name="mission_reserve_pct_max"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Payload(models.Model):
    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="payloads")
    name = models.CharField(_("name"), max_length=200)
    agency = models.CharField(_("agency"), max_length=100)
    country = models.CharField(_("country"), max_length=2)

    class Meta:
        ordering = ["mission", "name"]

    def __str__(self) -> str:
        return self.name


class StorageLocation(models.Model):
    class Kind(models.TextChoices):
        FACILITY = "facility", _("Facility")
        ROOM = "room", _("Room")
        CABINET = "cabinet", _("Cabinet")
        SHELF = "shelf", _("Shelf")
        CONTAINER = "container", _("Container")

    class Environment(models.TextChoices):
        NITROGEN = "nitrogen", _("Nitrogen")
        VACUUM = "vacuum", _("Vacuum")
        AIR = "air", _("Air")

    class Site(models.TextChoices):
        MAIN = "main", _("Main laboratory")
        BACKUP = "backup", _("Backup site")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    environment = models.CharField(
        _("environment"), max_length=10, choices=Environment.choices, default=Environment.AIR
    )
    site = models.CharField(_("site"), max_length=6, choices=Site.choices, default=Site.MAIN)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Form(models.TextChoices):
    SCOOPED_REGOLITH = "scooped_regolith", _("Scooped regolith")
    DRILLED_REGOLITH = "drilled_regolith", _("Drilled regolith / core section")
    ROCK_FRAGMENT = "rock_fragment", _("Rock fragment")
    POWDER = "powder", _("Powder aliquot")
    THIN_SECTION = "thin_section", _("Thin section")
    POLISHED_MOUNT = "polished_mount", _("Polished mount")
    PARTICLE = "particle", _("Particle")
    GLASS_BEAD = "glass_bead", _("Glass bead")


# Lent by mass; every other form is lent as a whole unit.
DIVISIBLE_FORMS = frozenset({Form.SCOOPED_REGOLITH, Form.DRILLED_REGOLITH, Form.POWDER})


class Pool(models.TextChoices):
    PERMANENT = "permanent", _("Permanent storage")
    BACKUP = "backup", _("Backup permanent storage")
    RESEARCH = "research", _("Research")
    PUBLIC_BENEFIT = "public_benefit", _("Public benefit")


class State(models.TextChoices):
    STORED = "stored", _("Stored")
    ALLOCATED = "allocated", _("Allocated")
    IN_TRANSIT = "in_transit", _("In transit")
    ON_LOAN = "on_loan", _("On loan")
    ON_DISPLAY = "on_display", _("On display")
    CONSUMED = "consumed", _("Consumed")
    LOST = "lost", _("Lost")


# States in which the sample sits in one of our storage locations.
HELD_IN_STORAGE = frozenset({State.STORED, State.ALLOCATED})


class Sample(models.Model):
    identifier = ByteOrderCharField(_("identifier"), max_length=64)
    igsn = models.CharField(_("IGSN"), max_length=32, blank=True)
    # Indexed as the first column of the facet and mission indexes below; its own index would
    # only cost every insert.
    mission = models.ForeignKey(
        Mission, on_delete=models.PROTECT, related_name="samples", db_index=False
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = ByteOrderCharField(max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    form = models.CharField(_("form"), max_length=20, choices=Form.choices)
    pool = models.CharField(_("purpose pool"), max_length=16, choices=Pool.choices)
    state = models.CharField(_("state"), max_length=12, choices=State.choices)
    location = models.ForeignKey(
        StorageLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="samples"
    )
    pristine = models.BooleanField(_("pristine"), default=True)
    mass_ug = models.BigIntegerField(_("mass (µg)"))
    classification = models.CharField(_("classification"), max_length=40, blank=True)
    subtype = models.CharField(_("subtype"), max_length=60, blank=True)
    pristinity_pct = models.DecimalField(
        _("pristinity (%)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identifier"]
        constraints = [
            models.UniqueConstraint(fields=["identifier"], name="sample_identifier_unique"),
            models.UniqueConstraint(
                fields=["igsn"], condition=~models.Q(igsn=""), name="sample_igsn_unique"
            ),
            models.CheckConstraint(condition=models.Q(mass_ug__gte=0), name="sample_mass_nonneg"),
            models.CheckConstraint(
                condition=~models.Q(state__in=sorted(HELD_IN_STORAGE))
                | models.Q(location__isnull=False),
                name="sample_stored_has_location",
            ),
        ]
        indexes = [
            models.Index(fields=["path"], name="sample_path"),
            models.Index(fields=["mission", "state", "form", "pool"], name="sample_facets"),
            # The catalog sorted by mass (ties by id: many consumed samples weigh 0), and the
            # edge buckets of a mass range counted from this index alone (catalog/selectors.py).
            models.Index(
                fields=["mass_ug", "id", "mission", "form", "pool", "state"],
                name="sample_mass_facets",
            ),
            # Filter mixes in identifier order: the first page comes off the index, unsorted.
            models.Index(fields=["mission", "state", "identifier"], name="sample_mission_state_id"),
            models.Index(fields=["form", "pool", "identifier"], name="sample_form_pool_id"),
            # A state or a form alone: without them the database sorts every matching sample
            # for the first page (a second or more at 1,000,000 samples).
            models.Index(fields=["state", "identifier"], name="sample_state_id"),
            models.Index(fields=["form", "identifier"], name="sample_form_id"),
            # The catalog sorted by mission.
            models.Index(fields=["mission", "identifier"], name="sample_mission_id"),
            # The catalog's other filter mixes and sort orders.
            models.Index(fields=["pool", "state"], name="sample_pool_state"),
            models.Index(fields=["state", "mass_ug"], name="sample_state_mass"),
            models.Index(fields=["mission", "mass_ug"], name="sample_mission_mass"),
            models.Index(fields=["updated_at"], name="sample_updated"),
            # The samples a borrower holds or is being sent (a few percent of the inventory):
            # which open loans still owe a return is read from this alone, not from the heap
            # pages of every such sample (the compliance page, loans/services/obligations.py).
            models.Index(
                fields=["id"],
                name="sample_held",
                condition=models.Q(state__in=[State.ON_LOAN, State.IN_TRANSIT]),
            ),
        ]

    def __str__(self) -> str:
        return self.identifier

    @property
    def ancestor_ids(self) -> list[int]:
        return path_ids(self.path)[:-1]


class SampleFacet(models.Model):
    """How many samples, and how much mass, share one mission, form, pool, state and mass bucket.

    Kept exact by database triggers on catalog_sample (migrations 0004, 0008, 0010), so that every
    writer — services, admin, bulk COPY — keeps it in step; see catalog/facets.py.
    """

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="+")
    form = models.CharField(max_length=20, choices=Form.choices)
    pool = models.CharField(max_length=16, choices=Pool.choices)
    state = models.CharField(max_length=12, choices=State.choices)
    # catalog.facets.mass_bucket of the samples' mass, so that a mass range is answered from
    # here; ALL_MASSES (-1) for the row that counts every mass at once.
    bucket = models.SmallIntegerField(default=0)
    count = models.BigIntegerField()
    mass_ug = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mission", "form", "pool", "state", "bucket"], name="sample_facet_unique"
            )
        ]
        indexes = [
            # Every catalog search reads the rows of a bucket or a range of buckets: this index
            # alone answers it, without a read of the table (half the time of a mass range).
            models.Index(
                fields=["bucket", "mission", "form", "pool", "state", "count"],
                name="sample_facet_bucket_counts",
            )
        ]


class IdentifierCounter(models.Model):
    """The last split number given under a prefix (an Apollo generic, or a parent identifier)."""

    prefix = ByteOrderCharField(max_length=64, primary_key=True)
    last = models.PositiveIntegerField(default=0)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# Every two-digit string, so that a segment takes four steps instead of seven: imports and the
# generator compute one per sample.
_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]


def path_segment(sample_id: int) -> str:
    if not 0 <= sample_id < 36**PATH_SEGMENT:
        raise ValueError(f"sample id {sample_id} does not fit a path segment")
    rest, d = divmod(sample_id, 36)
    rest, c = divmod(rest, 1296)
    a, b = divmod(rest, 1296)
    return _PAIRS[a] + _PAIRS[b] + _PAIRS[c] + _DIGITS[d]


def path_ids(path: str) -> list[int]:
    return [int(path[i : i + PATH_SEGMENT], 36) for i in range(0, len(path), PATH_SEGMENT)]
