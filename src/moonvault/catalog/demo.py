"""The demo data: a small lunar sample laboratory with a real ledger.

Everything goes through the same services a curator uses, so the demo's custody ledger verifies
like a real one. Each part is a plain function; later features add theirs to `demo_load`.

Masses of the portions are illustrative; the missions' facts and the Apollo catalog are real.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count

from moonvault.accounts.models import Institution, Role
from moonvault.accounts.services import institution_create, person_create
from moonvault.catalog.importers import apollo_catalog_import, apollo_csv_parse
from moonvault.catalog.models import (
    Form,
    IdConvention,
    Mission,
    Payload,
    Pool,
    Sample,
    StorageLocation,
)
from moonvault.catalog.selectors import sample_get
from moonvault.catalog.services import (
    ChildSpec,
    NewSample,
    sample_consume,
    sample_move,
    sample_reassign_pool,
    sample_split,
    sample_weigh,
    samples_receive,
)
from moonvault.core.errors import Conflict, DomainError
from moonvault.core.units import parse_mass
from moonvault.custody.verification import custody_verify

APOLLO_CATALOG = Path(__file__).resolve().parent / "data" / "apollo_rocksamples.csv"
DEMO_MISSIONS = ("CE5", "CE6")


def _g(grams: str) -> int:
    return parse_mass(grams, "g")


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    name: str
    institution: str


@dataclass
class DemoSummary:
    missions: list[str] = field(default_factory=list)
    institutions: int = 0
    locations: int = 0
    samples: int = 0
    events: int = 0
    received_ug: int = 0
    samples_by_pool: dict[str, int] = field(default_factory=dict)
    users: list[DemoUser] = field(default_factory=list)


class DemoAlreadyLoaded(Conflict):
    pass


# Passwords are published in docs/demo.md; `load-demo` refuses to run outside DEBUG for that reason.
DEMO_PEOPLE = (
    ("applicant", "Lena", "Hoffmann", "University of Münster", "isotope geochemistry, chronology"),
    ("reviewer", "Sarah", "Mitchell", "The Open University", "petrology, lunar volatiles"),
    (
        "curator",
        "Lin",
        "Wang",
        "National Astronomical Observatories, Chinese Academy of Sciences",
        "sample curation, contamination control",
    ),
    (
        "committee",
        "Yu",
        "Chen",
        "Institute of Geology and Geophysics, Chinese Academy of Sciences",
        "geochronology, basalt petrogenesis",
    ),
    (
        "administrator",
        "Wei",
        "Zhang",
        "National Astronomical Observatories, Chinese Academy of Sciences",
        "",
    ),
)


def demo_password(role: str) -> str:
    return f"moonvault-{role}"


# (name, Chinese name, ISO 3166-1 country)
DEMO_INSTITUTIONS = (
    (
        "National Astronomical Observatories, Chinese Academy of Sciences",
        "中国科学院国家天文台",
        "CN",
    ),
    (
        "Institute of Geology and Geophysics, Chinese Academy of Sciences",
        "中国科学院地质与地球物理研究所",
        "CN",
    ),
    ("Lunar Exploration and Space Engineering Center", "探月与航天工程中心", "CN"),
    ("Université Paris Cité", "", "FR"),
    ("Institut de Recherche en Astrophysique et Planétologie", "", "FR"),
    ("University of Münster", "", "DE"),
    ("Istituto Nazionale di Fisica Nucleare", "", "IT"),
    ("Institute of Space Technology", "", "PK"),
    ("The Open University", "", "GB"),
    ("NASA Johnson Space Center", "", "US"),
    ("Japan Aerospace Exploration Agency", "", "JP"),
    ("Universidade de São Paulo", "", "BR"),
    ("Swedish Institute of Space Physics", "", "SE"),
)


def demo_institutions() -> dict[str, Institution]:
    return {
        name: institution_create(name=name, name_zh=name_zh, country=country)
        for name, name_zh, country in DEMO_INSTITUTIONS
    }


def demo_people(institutions: dict[str, Institution]) -> dict[str, User]:
    users = {}
    for role, first, last, institution, expertise in DEMO_PEOPLE:
        person = person_create(
            username=role,
            password=demo_password(role),
            email=f"{role}@example.org",
            first_name=first,
            last_name=last,
            institution=institutions[institution],
            roles=(role,),
            expertise=expertise,
        )
        users[role] = person.user
    return users


# (code, parent code, name, kind, environment); each tree's facility names its site.
DEMO_LOCATIONS = (
    ("MAIN", "", "Lunar sample laboratory", "facility", "air"),
    ("MAIN-R101", "MAIN", "Room 101, permanent storage", "room", "air"),
    ("MAIN-R101-N2-01", "MAIN-R101", "Nitrogen cabinet 1, Chang'e-5", "cabinet", "nitrogen"),
    ("MAIN-R101-N2-01-S1", "MAIN-R101-N2-01", "Shelf 1", "shelf", "nitrogen"),
    (
        "MAIN-R101-N2-01-S1-C01",
        "MAIN-R101-N2-01-S1",
        "Container C01, scooped",
        "container",
        "nitrogen",
    ),
    (
        "MAIN-R101-N2-01-S1-C02",
        "MAIN-R101-N2-01-S1",
        "Container C02, drilled",
        "container",
        "nitrogen",
    ),
    ("MAIN-R101-N2-02", "MAIN-R101", "Nitrogen cabinet 2, Chang'e-6", "cabinet", "nitrogen"),
    ("MAIN-R101-N2-02-S1", "MAIN-R101-N2-02", "Shelf 1", "shelf", "nitrogen"),
    (
        "MAIN-R101-N2-02-S1-C01",
        "MAIN-R101-N2-02-S1",
        "Container C01, scooped",
        "container",
        "nitrogen",
    ),
    (
        "MAIN-R101-N2-02-S1-C02",
        "MAIN-R101-N2-02-S1",
        "Container C02, drilled",
        "container",
        "nitrogen",
    ),
    ("MAIN-R101-N2-03", "MAIN-R101", "Nitrogen cabinet 3, research pool", "cabinet", "nitrogen"),
    ("MAIN-R101-N2-03-S1", "MAIN-R101-N2-03", "Shelf 1", "shelf", "nitrogen"),
    (
        "MAIN-R101-N2-03-S1-C01",
        "MAIN-R101-N2-03-S1",
        "Container C01, powders",
        "container",
        "nitrogen",
    ),
    (
        "MAIN-R101-N2-03-S1-C02",
        "MAIN-R101-N2-03-S1",
        "Container C02, fragments and sections",
        "container",
        "nitrogen",
    ),
    (
        "MAIN-R101-N2-04",
        "MAIN-R101",
        "Nitrogen cabinet 4, Apollo collection",
        "cabinet",
        "nitrogen",
    ),
    ("MAIN-R102", "MAIN", "Room 102, processing", "room", "air"),
    ("MAIN-R102-GB-01", "MAIN-R102", "Nitrogen glovebox 1, splitting", "cabinet", "nitrogen"),
    ("MAIN-R104", "MAIN", "Room 104, public benefit", "room", "air"),
    ("MAIN-R104-N2-01", "MAIN-R104", "Nitrogen cabinet, display samples", "cabinet", "nitrogen"),
    (
        "MAIN-R104-N2-01-C01",
        "MAIN-R104-N2-01",
        "Container C01, display vials",
        "container",
        "nitrogen",
    ),
    (
        "MAIN-R104-N2-01-C02",
        "MAIN-R104-N2-01",
        "Container C02, prepared for exhibition",
        "container",
        "nitrogen",
    ),
    ("BACKUP", "", "Backup storage site", "facility", "air"),
    ("BACKUP-R01", "BACKUP", "Room 01, backup permanent storage", "room", "air"),
    ("BACKUP-R01-VD-01", "BACKUP-R01", "Vacuum desiccator 1", "cabinet", "vacuum"),
    ("BACKUP-R01-VD-01-C01", "BACKUP-R01-VD-01", "Container C01, Chang'e-5", "container", "vacuum"),
    ("BACKUP-R01-VD-01-C02", "BACKUP-R01-VD-01", "Container C02, Chang'e-6", "container", "vacuum"),
)
SITES = {"MAIN": StorageLocation.Site.MAIN, "BACKUP": StorageLocation.Site.BACKUP}


def demo_locations() -> dict[str, StorageLocation]:
    locations: dict[str, StorageLocation] = {}
    for code, parent_code, name, kind, environment in DEMO_LOCATIONS:
        parent = locations[parent_code] if parent_code else None
        locations[code] = StorageLocation.objects.create(
            code=code,
            name=name,
            kind=kind,
            parent=parent,
            environment=environment,
            site=SITES[code.partition("-")[0]],
        )
    return locations


def demo_missions() -> dict[str, Mission]:
    ce5 = Mission.objects.create(
        code="CE5",
        name="Chang'e-5",
        name_zh="嫦娥五号",
        agency="CNSA",
        landing_site="Oceanus Procellarum, near Mons Rümker",
        latitude=Decimal("43.06"),
        longitude=Decimal("-51.92"),
        landed_on=date(2020, 12, 1),
        returned_on=date(2020, 12, 17),
        returned_mass_ug=_g("1731"),
        id_convention=IdConvention.SUFFIX,
        description="China's first lunar sample return: scooped and drilled samples from a young "
        "mare basalt unit on the near side.",
    )
    ce6 = Mission.objects.create(
        code="CE6",
        name="Chang'e-6",
        name_zh="嫦娥六号",
        agency="CNSA",
        landing_site="Apollo basin, South Pole–Aitken basin (far side)",
        latitude=Decimal("-41.63"),
        longitude=Decimal("-153.99"),
        landed_on=date(2024, 6, 2),
        returned_on=date(2024, 6, 25),
        returned_mass_ug=_g("1935.3"),
        id_convention=IdConvention.SUFFIX,
        description="The first samples returned from the far side of the Moon.",
    )
    payloads = [
        (ce5, "Landing camera", "CNSA", "CN"),
        (ce5, "Panoramic camera", "CNSA", "CN"),
        (ce5, "Lunar mineralogical spectrometer", "CNSA", "CN"),
        (ce5, "Lunar regolith penetrating radar", "CNSA", "CN"),
        (ce6, "NILS, negative ions at the lunar surface", "ESA", "SE"),
        (ce6, "DORN, detection of outgassing radon", "CNES", "FR"),
        (ce6, "INRRI, laser retroreflector", "ASI / INFN", "IT"),
        (ce6, "ICUBE-Q CubeSat", "SUPARCO / Institute of Space Technology", "PK"),
    ]
    Payload.objects.bulk_create(
        Payload(mission=m, name=name, agency=agency, country=country)
        for m, name, agency, country in payloads
    )
    return {"CE5": ce5, "CE6": ce6}


def _split(actor, identifier: str, children: list[ChildSpec], *, loss: int = 0, reason: str):
    parent = sample_get(identifier=identifier)
    return sample_split(
        actor=actor, sample_id=parent.id, children=children, loss_ug=loss, reason=reason
    )


def _portion(identifier, grams, pool, location, form="") -> ChildSpec:
    return ChildSpec(
        mass_ug=_g(grams), identifier=identifier, pool=pool, location=location, form=form
    )


def demo_change_samples(
    *, actor, missions: dict[str, Mission], locations: dict[str, StorageLocation]
) -> None:
    """Both Chang'e collections, received whole, then split into the four purpose pools."""
    loc = locations
    glovebox = loc["MAIN-R102-GB-01"]
    roots = [
        # Scooped plus drilled is exactly what each mission returned.
        ("CE5C0000YJFM00000", "CE5", Form.SCOOPED_REGOLITH, "1515.823"),
        ("CE5Z0000YJFM00000", "CE5", Form.DRILLED_REGOLITH, "215.177"),
        ("CE6C0000YJFM00000", "CE6", Form.SCOOPED_REGOLITH, "1652.416"),
        ("CE6Z0000YJFM00000", "CE6", Form.DRILLED_REGOLITH, "282.884"),
    ]
    samples_receive(
        actor=actor,
        reason="returned capsule opened and its sample containers weighed in the glovebox",
        samples=[
            NewSample(
                identifier=identifier,
                mission=missions[mission],
                form=form,
                pool=Pool.PERMANENT,
                mass_ug=_g(grams),
                location=glovebox,
                classification="soil",
            )
            for identifier, mission, form, grams in roots
        ],
    )

    P, B, R, PB = Pool.PERMANENT, Pool.BACKUP, Pool.RESEARCH, Pool.PUBLIC_BENEFIT
    first_division = "first division into the four purpose pools"
    _split(
        actor,
        "CE5C0000YJFM00000",
        [
            _portion("CE5C0100YJFM00100", "1050", P, loc["MAIN-R101-N2-01-S1-C01"]),
            _portion("CE5C0200YJFM00100", "220", B, loc["BACKUP-R01-VD-01-C01"]),
            _portion("CE5C0300YJFM00100", "35", PB, loc["MAIN-R104-N2-01-C01"]),
            _portion("CE5C0400YJFM00500", "160", R, loc["MAIN-R101-N2-03-S1-C01"]),
        ],
        loss=731,
        reason=first_division,
    )
    _split(
        actor,
        "CE5Z0000YJFM00000",
        [
            _portion("CE5Z0100YJFM00100", "150", P, loc["MAIN-R101-N2-01-S1-C02"]),
            _portion("CE5Z0200YJFM00100", "35", B, loc["BACKUP-R01-VD-01-C01"]),
            _portion("CE5Z0806YJFM00100", "20", R, loc["MAIN-R101-N2-03-S1-C01"]),
        ],
        loss=412,
        reason=first_division,
    )
    _split(
        actor,
        "CE6C0000YJFM00000",
        [
            _portion("CE6C0100YJFM00100", "1150", P, loc["MAIN-R101-N2-02-S1-C01"]),
            _portion("CE6C0200YJFM00100", "250", B, loc["BACKUP-R01-VD-01-C02"]),
            _portion("CE6C0300YJFM00100", "25", PB, loc["MAIN-R104-N2-01-C01"]),
            _portion("CE6C0400YJFM00100", "180", R, loc["MAIN-R101-N2-03-S1-C01"]),
        ],
        loss=958,
        reason=first_division,
    )
    _split(
        actor,
        "CE6Z0000YJFM00000",
        [
            _portion("CE6Z0100YJFM00100", "200", P, loc["MAIN-R101-N2-02-S1-C02"]),
            _portion("CE6Z0200YJFM00100", "40", B, loc["BACKUP-R01-VD-01-C02"]),
            _portion("CE6Z0400YJFM00100", "30", R, loc["MAIN-R101-N2-03-S1-C01"]),
        ],
        loss=510,
        reason=first_division,
    )

    # Research aliquots: powders lent by mass, a picked rock fragment lent whole.
    fragments = loc["MAIN-R101-N2-03-S1-C02"]
    powder = Form.POWDER
    _split(
        actor,
        "CE5C0400YJFM00500",
        [
            _portion("CE5C0400YJFM00501", "2", "", None, powder),
            _portion("CE5C0400YJFM00502", "1.5", "", None, powder),
            _portion("CE5C0400YJFM00503", "1", "", None, powder),
            _portion("CE5C0400YJFM00504", "0.5", "", None, powder),
            _portion("CE5C0400YJFM00505", "1.5", "", None, powder),
            _portion("CE5C0400YJYX00101", "0.85", "", fragments, Form.ROCK_FRAGMENT),
        ],
        loss=1_200,
        reason="research aliquots for the first batch",
    )
    _split(
        actor,
        "CE5Z0806YJFM00100",
        [
            _portion("CE5Z0806YJFM00101", "0.8", "", None, powder),
            _portion("CE5Z0806YJFM00102", "0.6", "", None, powder),
        ],
        loss=300,
        reason="research aliquots from the drilled core",
    )
    _split(
        actor,
        "CE6C0400YJFM00100",
        [
            _portion("CE6C0400YJFM00101", "1", "", None, powder),
            _portion("CE6C0400YJFM00102", "1", "", None, powder),
            _portion("CE6C0400YJFM00103", "0.5", "", None, powder),
            _portion("CE6C0400YJYX00101", "1.2", "", fragments, Form.ROCK_FRAGMENT),
        ],
        loss=800,
        reason="research aliquots for the first far-side batch",
    )

    # Deeper splits: single grains picked under the microscope, sections cut from a fragment.
    _split(
        actor,
        "CE5C0400YJFM00505",
        [
            ChildSpec(mass_ug=3_200, form=Form.PARTICLE),
            ChildSpec(mass_ug=2_750, form=Form.PARTICLE),
            ChildSpec(mass_ug=180, form=Form.GLASS_BEAD),
            ChildSpec(mass_ug=95, form=Form.GLASS_BEAD),
        ],
        loss=25,
        reason="particles and glass beads picked for in-situ analysis",
    )
    _split(
        actor,
        "CE6C0400YJFM00103",
        [
            ChildSpec(mass_ug=210, form=Form.GLASS_BEAD),
            ChildSpec(mass_ug=2_500, form=Form.PARTICLE),
        ],
        loss=12,
        reason="impact glass beads for dating",
    )
    _split(
        actor,
        "CE5C0400YJYX00101",
        [
            ChildSpec(mass_ug=45_000, form=Form.THIN_SECTION),
            ChildSpec(mass_ug=60_000, form=Form.POLISHED_MOUNT),
        ],
        loss=4_000,
        reason="saw cut for a thin section and a polished mount",
    )
    _split(
        actor,
        "CE5C0300YJFM00100",
        [
            ChildSpec(mass_ug=_g("2")),
            ChildSpec(mass_ug=_g("2")),
            ChildSpec(mass_ug=_g("2")),
        ],
        reason="display vials for exhibitions",
    )

    def weigh(identifier: str, measured_ug: int, reason: str = "") -> None:
        sample = sample_get(identifier=identifier)
        sample_weigh(actor=actor, sample_id=sample.id, measured_ug=measured_ug, reason=reason)

    weigh("CE5C0100YJFM00100", _g("1049.999964"), "annual inventory re-weighing")
    weigh("CE6C0400YJFM00101", _g("1.000008"), "re-weighed after the balance was recalibrated")
    weigh("CE5C0400YJFM00503", _g("1"))

    def move(identifier: str, code: str, reason: str) -> None:
        sample = sample_get(identifier=identifier)
        sample_move(actor=actor, sample_id=sample.id, location_code=code, reason=reason)

    move("CE5C0400YJFM00501", "MAIN-R101-N2-03-S1-C02", "kept with the sections for one request")
    move("CE5C0300YJFM00100-1", "MAIN-R104-N2-01-C02", "prepared for an exhibition")
    move("CE6C0400YJYX00101", "MAIN-R102-GB-01", "to the glovebox for photography")

    def consume(identifier: str, mass_ug: int, technique: str, reason: str) -> None:
        sample = sample_get(identifier=identifier)
        sample_consume(
            actor=actor, sample_id=sample.id, mass_ug=mass_ug, technique=technique, reason=reason
        )

    consume("CE5C0400YJFM00502", 50_000, "ICP-MS bulk chemistry", "in-house reference analysis")
    consume("CE5C0400YJFM00505-4", 95, "NanoSIMS", "glass bead used up by isotope analysis")


# Apollo generics moved to the research pool, and the splits (grams, form) taken from them.
APOLLO_RESEARCH = {
    "74220": [("5", Form.POWDER), ("5", Form.POWDER)],  # orange soil
    "74001": [("2", ""), ("1.5", "")],  # drive tube below the orange soil
    "70017": [("0.05", Form.THIN_SECTION)],  # high-titanium mare basalt
    "15415": [("1.5", "")],  # "Genesis Rock", ferroan anorthosite
    "60025": [("2", "")],  # ferroan anorthosite
    "12002": [("1", ""), ("0.05", Form.THIN_SECTION)],  # olivine basalt
}


def demo_apollo(*, actor) -> None:
    report = apollo_csv_parse(APOLLO_CATALOG.read_bytes())
    apollo_catalog_import(
        actor=actor,
        report=report,
        pool=Pool.PERMANENT,
        location_code="MAIN-R101-N2-04",
        reason=f"imported from {APOLLO_CATALOG.name} (apollo-csv)",
    )
    for identifier, portions in APOLLO_RESEARCH.items():
        sample = sample_get(identifier=identifier)
        sample_reassign_pool(
            actor=actor,
            sample_id=sample.id,
            pool=Pool.RESEARCH,
            reason="made available to the research pool",
        )
        _split(
            actor,
            identifier,
            [ChildSpec(mass_ug=_g(grams), form=form) for grams, form in portions],
            loss=150,
            reason="research splits",
        )


def demo_present() -> bool:
    return Mission.objects.filter(code__in=DEMO_MISSIONS).exists()


def demo_load() -> DemoSummary:
    """Build the demo in one transaction; it refuses to run twice and keeps nothing on failure."""
    with transaction.atomic():
        if demo_present():
            raise DemoAlreadyLoaded("the demo data is already loaded")
        institutions = demo_institutions()
        users = demo_people(institutions)
        locations = demo_locations()
        missions = demo_missions()
        curator = users[Role.CURATOR]
        demo_change_samples(actor=curator, missions=missions, locations=locations)
        demo_apollo(actor=curator)
        # Rounds and loans build on the inventory; importing them here keeps the catalog app
        # free of a module-level dependency on the apps that depend on it.
        from moonvault.calls.demo import demo_rounds
        from moonvault.loans.demo import demo_exhibition, demo_loans, demo_stock_check

        rounds = demo_rounds(institutions=institutions, users=users, password=demo_password)
        demo_loans(users=users, approved=rounds["approved"])
        demo_exhibition(users=users)
        demo_stock_check(users=users)
        verification = custody_verify()
        if not verification.ok:
            raise DomainError(
                "the demo ledger does not verify: " + "; ".join(verification.problems)
            )
    by_pool = dict.fromkeys(Pool.values, 0)
    by_pool.update(Sample.objects.values_list("pool").annotate(n=Count("id")).order_by())
    return DemoSummary(
        missions=list(Mission.objects.order_by("landed_on").values_list("code", flat=True)),
        institutions=len(institutions),
        locations=len(locations),
        samples=verification.samples,
        events=verification.events,
        received_ug=sum(book.received for book in verification.accounts.values()),
        samples_by_pool=by_pool,
        users=[
            DemoUser(role, demo_password(role), role, f"{first} {last}", institution)
            for role, first, last, institution, _ in DEMO_PEOPLE
        ],
    )
