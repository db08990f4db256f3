"""API shapes for loans, incidents, stock checks, exhibitions and publications.

Masses are integer micrograms (fields ending in `_ug`); samples are named by id where a loan
already holds them and by public identifier where the caller picks them from the catalog.
"""

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema
from pydantic import ConfigDict, Field

from moonvault.core.units import format_mass

# --- loans: input ------------------------------------------------------------------------------


class LoanCreateIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 41,
                    "official_name": "Prof. M. Weber, Vice-President for Research",
                    "allowed_techniques": "NanoSIMS, EPMA, Raman",
                    "destructive_allowed": True,
                    "destructive_max_ug": 300_000,
                    "years": 5,
                    "starts_on": "2026-03-01",
                    "data_embargo_until": "2028-03-01",
                }
            ]
        }
    )

    proposal_id: int
    official_name: str = Field(description="the borrower's authorized official who signs")
    allowed_techniques: str
    destructive_allowed: bool = False
    destructive_max_ug: int = Field(0, description="destructive use allowed in total, in µg")
    years: int = Field(5, description="duration of the loan, 1 to 10 years")
    starts_on: date | None = Field(None, description="today if left out")
    acknowledgement: str = Field("", description="a standard text naming the loan if left out")
    data_embargo_until: date | None = None


class PackIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "container_code": "BOX-2026-017",
                    "seal_number": "SEAL-004211",
                    "nitrogen_purged": True,
                    "location_code": "PACK",
                }
            ]
        }
    )

    container_code: str
    seal_number: str
    nitrogen_purged: bool = False
    location_code: str = Field(description="the storage location where the container is packed")


class DispatchIn(Schema):
    """A courier with a tracking number, or a person carrying the container by hand."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "courier": "SF Express",
                    "tracking_number": "SF1234567890",
                    "export_reference": "EXP-2026-118",
                }
            ]
        }
    )

    courier: str = ""
    tracking_number: str = ""
    hand_carried_by: str = ""
    hand_carry_log: str = ""
    export_reference: str = ""
    customs_reference: str = ""


class ReceiveIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"seal_intact": True, "measured": {"118": 1_499_980, "119": 300_010}}]
        }
    )

    seal_intact: bool
    measured: dict[int, int] = Field(
        description="sample id → mass measured on arrival, in µg, for every sample shipped"
    )


class ReturnReceiveIn(ReceiveIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seal_intact": True,
                    "measured": {"118": 1_199_990, "131": 100_000},
                    "location_code": "RET-01",
                }
            ]
        }
    )

    location_code: str = Field(description="where the returned material is stored")


class AnalysisIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sample_id": 118,
                    "technique": "NanoSIMS",
                    "destructive": True,
                    "mass_consumed_ug": 20_000,
                    "performed_on": "2026-05-14",
                }
            ]
        }
    )

    sample_id: int
    technique: str
    destructive: bool
    mass_consumed_ug: int = 0
    performed_on: date | None = None


class SubsplitIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sample_id": 118, "masses_ug": [100_000], "loss_ug": 12}]}
    )

    sample_id: int
    masses_ug: list[int] = Field(description="mass of each new portion, in µg")
    loss_ug: int = Field(0, description="handling loss of the split, in µg")


class TextIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Two NanoSIMS sessions on grains A-F."}]}
    )

    text: str


class InventoryLineIn(Schema):
    sample: int = Field(description="sample id")
    mass_ug: int
    place: str


class InventoryIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"lines": [{"sample": 118, "mass_ug": 1_479_000, "place": "Lab 2, N2"}]}]
        }
    )

    lines: list[InventoryLineIn]


class ReturnPackIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"sample_ids": [118, 131], "container_code": "BOX-R-9", "seal_number": "S-88"}
            ]
        }
    )

    sample_ids: list[int]
    container_code: str
    seal_number: str


class DataDepositIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reference": "10.5281/zenodo.1234567", "embargo_until": None}]
        }
    )

    reference: str = Field(description="a DOI (10.…) or a URL")
    embargo_until: date | None = None


class WaiverIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"obligation": "data", "reason": "data are in the paper's supplement"}]
        }
    )

    obligation: str = Field(description="usage_report, publications or data")
    reason: str


# --- loans: output -----------------------------------------------------------------------------


class LoanOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "number": "MV-2026-0001",
                    "status": "closed",
                    "proposal_id": 1,
                    "pi_id": 2,
                    "pi": "pi0",
                    "institution": "Université Paris Cité",
                    "official_name": "Prof. M. Weber",
                    "allowed_techniques": "NanoSIMS",
                    "destructive_allowed": True,
                    "destructive_max_ug": 300000,
                    "starts_on": "2026-03-01",
                    "ends_on": "2031-03-01",
                    "inventory_due": "2028-03-01",
                    "usage_report_due": "2028-03-01",
                    "return_due": "2031-03-01",
                    "acknowledgement": (
                        "The lunar samples used in this work were provided by the national lunar "
                        "sample repository under loan MV-2026-0001."
                    ),
                    "data_embargo_until": None,
                    "signed_by_name": "Prof. M. Weber",
                    "signed_at": "2026-11-22T14:57:58.012Z",
                    "certificate_hash": (
                        "e4b1bd1d28da93733eb29536e3b39368e06be5cedaaae84be57478f97a326616"
                    ),
                    "certificate_seq": 8,
                    "closed_at": "2026-11-22T14:58:01.257Z",
                }
            ]
        }
    )

    id: int
    number: str
    status: str
    proposal_id: int | None
    pi_id: int
    pi: str
    institution: str
    official_name: str
    allowed_techniques: str
    destructive_allowed: bool
    destructive_max_ug: int
    starts_on: date
    ends_on: date
    inventory_due: date
    usage_report_due: date
    return_due: date
    acknowledgement: str
    data_embargo_until: date | None
    signed_by_name: str
    signed_at: datetime | None
    certificate_hash: str
    certificate_seq: int | None
    closed_at: datetime | None

    @staticmethod
    def resolve_pi(obj):
        return obj.pi.get_full_name() or obj.pi.get_username()

    @staticmethod
    def resolve_institution(obj):
        return obj.institution.name


class LoanItemOut(Schema):
    sample_id: int
    identifier: str
    state: str
    mass_ug: int = Field(description="the sample's mass now, as the ledger accounts it")
    lent_mass_ug: int
    subsplit_of: str | None

    @staticmethod
    def resolve_identifier(obj):
        return obj.sample.identifier

    @staticmethod
    def resolve_state(obj):
        return obj.sample.state

    @staticmethod
    def resolve_mass_ug(obj):
        return obj.sample.mass_ug

    @staticmethod
    def resolve_subsplit_of(obj):
        return obj.subsplit_of.sample.identifier if obj.subsplit_of_id else None


class PortionOut(Schema):
    """A new portion made by a subsplit at the borrower."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "identifier": "CE5C0400YJFM00500-1-1",
                    "mass_ug": 100000,
                    "state": "on_loan",
                }
            ]
        }
    )

    id: int
    identifier: str
    mass_ug: int
    state: str


class ShipmentItemOut(Schema):
    sample_id: int
    identifier: str
    mass_sent_ug: int
    mass_received_ug: int | None

    @staticmethod
    def resolve_identifier(obj):
        return obj.sample.identifier


class ShipmentOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "direction": "return",
                    "status": "shipped",
                    "container_code": "BOX-7R",
                    "seal_number": "SEAL-7R",
                    "nitrogen_purged": False,
                    "courier": "",
                    "tracking_number": "",
                    "hand_carried_by": "Dr. B. Courier",
                    "hand_carry_log": "Flight LH720",
                    "export_reference": "",
                    "customs_reference": "",
                    "packed_at": "2026-11-22T14:57:59.662Z",
                    "shipped_at": "2026-11-22T14:57:59.962Z",
                    "received_at": None,
                    "seal_intact": None,
                    "items": [
                        {
                            "sample_id": 3,
                            "identifier": "CE5C0400YJFM00500-1",
                            "mass_sent_ug": 1199990,
                            "mass_received_ug": None,
                        },
                        {
                            "sample_id": 5,
                            "identifier": "CE5C0400YJFM00500-1-1",
                            "mass_sent_ug": 100000,
                            "mass_received_ug": None,
                        },
                    ],
                }
            ]
        }
    )

    id: int
    direction: str
    status: str
    container_code: str
    seal_number: str
    nitrogen_purged: bool
    courier: str
    tracking_number: str
    hand_carried_by: str
    hand_carry_log: str
    export_reference: str
    customs_reference: str
    packed_at: datetime
    shipped_at: datetime | None
    received_at: datetime | None
    seal_intact: bool | None
    items: list[ShipmentItemOut]

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.all())


class AnalysisOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "sample_id": 3,
                    "technique": "NanoSIMS",
                    "destructive": True,
                    "mass_consumed_ug": 200000,
                    "performed_on": "2026-11-22",
                }
            ]
        }
    )

    id: int
    sample_id: int
    technique: str
    destructive: bool
    mass_consumed_ug: int
    performed_on: date


class ReportOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": 1, "submitted_at": "2026-11-22T14:57:59.237Z"}]}
    )

    id: int
    submitted_at: datetime


class DataDepositOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": 1, "reference": "10.5281/zenodo.1", "embargo_until": None}]
        }
    )

    id: int
    reference: str
    embargo_until: date | None


class WaiverOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "obligation": "data",
                    "reason": "the paper's tables hold all the data",
                    "waived_at": "2026-11-22T14:58:38.395Z",
                }
            ]
        }
    )

    id: int
    obligation: str
    reason: str
    waived_at: datetime


class ObligationOut(Schema):
    what: str
    due: date
    overdue: bool


class IncidentOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "kind": "seal_broken",
                    "status": "resolved",
                    "description": "Seal SEAL-0001 of loan MV-2026-0001 arrived broken.",
                    "sample": None,
                    "loan": "MV-2026-0001",
                    "exhibition_id": None,
                    "stock_check_id": None,
                    "opened_at": "2026-11-22T14:59:04.579Z",
                    "resolved_at": "2026-11-22T14:59:05.065Z",
                    "resolution": "inner seal intact, courier damage only",
                    "correcting_event_seq": None,
                }
            ]
        }
    )

    id: int
    kind: str
    status: str
    description: str
    sample: str | None
    loan: str | None
    exhibition_id: int | None
    stock_check_id: int | None
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str
    correcting_event_seq: int | None

    @staticmethod
    def resolve_sample(obj):
        return obj.sample.identifier if obj.sample_id else None

    @staticmethod
    def resolve_loan(obj):
        return obj.loan.number if obj.loan_id else None


class AuthorOut(Schema):
    name: str
    position: int


class PublicationOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "doi": "10.1126/science.abl7957",
                    "title": "Age and composition of young basalts on the Moon",
                    "journal": "Science",
                    "year": 2021,
                    "authors": [{"name": "Che, X.", "position": 0}],
                }
            ]
        }
    )

    id: int
    doi: str
    title: str
    journal: str
    year: int
    authors: list[AuthorOut]

    @staticmethod
    def resolve_authors(obj):
        return list(obj.authors.all())


def _obligations(detail) -> list[dict]:
    return [
        {"what": o.what, "due": o.due, "overdue": o.due < detail.today} for o in detail.obligations
    ]


class LoanDetailOut(Schema):
    """A loan with everything attached, as its PI and the curators see it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loan": {
                        "id": 1,
                        "number": "MV-2026-0001",
                        "status": "shipped",
                        "proposal_id": 1,
                        "pi_id": 2,
                        "pi": "pi0",
                        "institution": "Université Paris Cité",
                        "official_name": "Dr. A. Official",
                        "allowed_techniques": "SIMS, EPMA",
                        "destructive_allowed": True,
                        "destructive_max_ug": 300000,
                        "starts_on": "2026-01-10",
                        "ends_on": "2031-01-10",
                        "inventory_due": "2027-01-10",
                        "usage_report_due": "2027-01-10",
                        "return_due": "2031-01-10",
                        "acknowledgement": (
                            "The lunar samples used in this work were provided by the national "
                            "lunar sample repository under loan MV-2026-0001."
                        ),
                        "data_embargo_until": "2027-06-30",
                        "signed_by_name": "A. Official",
                        "signed_at": "2026-11-22T14:58:05.491Z",
                        "certificate_hash": (
                            "a73aabee6f0e38b09ea66d6f20cb2f1e2568305d4d1722cb314e71a450f243c6"
                        ),
                        "certificate_seq": 8,
                        "closed_at": None,
                    },
                    "items": [
                        {
                            "sample_id": 3,
                            "identifier": "CE5C0400YJFM00500-1",
                            "state": "in_transit",
                            "mass_ug": 1500000,
                            "lent_mass_ug": 1500000,
                            "subsplit_of": None,
                        }
                    ],
                    "shipments": [
                        {
                            "id": 1,
                            "direction": "outbound",
                            "status": "shipped",
                            "container_code": "BOX-1",
                            "seal_number": "SEAL-0001",
                            "nitrogen_purged": True,
                            "courier": "SF Express",
                            "tracking_number": "SF123",
                            "hand_carried_by": "",
                            "hand_carry_log": "",
                            "export_reference": "",
                            "customs_reference": "",
                            "packed_at": "2026-11-22T14:58:05.630Z",
                            "shipped_at": "2026-11-22T14:58:05.765Z",
                            "received_at": None,
                            "seal_intact": None,
                            "items": [
                                {
                                    "sample_id": 3,
                                    "identifier": "CE5C0400YJFM00500-1",
                                    "mass_sent_ug": 1500000,
                                    "mass_received_ug": None,
                                }
                            ],
                        }
                    ],
                    "analyses": [],
                    "usage_reports": [],
                    "inventories": [],
                    "data_deposits": [],
                    "waivers": [],
                    "publications": [],
                    "incidents": [],
                    "obligations": [
                        {"what": "return of remnants", "due": "2031-01-10", "overdue": False},
                        {"what": "end of loan", "due": "2031-01-10", "overdue": False},
                    ],
                    "closure_blockers": ["CE5C0400YJFM00500-1 is in transit", "no usage report"],
                    "destructive_used_ug": 0,
                }
            ]
        }
    )

    loan: LoanOut
    items: list[LoanItemOut]
    shipments: list[ShipmentOut]
    analyses: list[AnalysisOut]
    usage_reports: list[ReportOut]
    inventories: list[ReportOut]
    data_deposits: list[DataDepositOut]
    waivers: list[WaiverOut]
    publications: list[PublicationOut]
    incidents: list[IncidentOut]
    obligations: list[ObligationOut] = Field(description="dated obligations, earliest first")
    closure_blockers: list[str] = Field(description="what still keeps the loan from closing")
    destructive_used_ug: int

    @staticmethod
    def resolve_obligations(obj):
        return _obligations(obj)

    @staticmethod
    def resolve_closure_blockers(obj):
        return obj.blockers


class ObligationsOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loan": "MV-2026-0001",
                    "status": "active",
                    "obligations": [
                        {"what": "annual inventory", "due": "2027-01-10", "overdue": False},
                        {"what": "usage report", "due": "2027-01-10", "overdue": False},
                    ],
                    "closure_blockers": ["CE5C0400YJFM00500-1 is on loan", "no usage report"],
                }
            ]
        }
    )

    loan: str
    status: str
    obligations: list[ObligationOut]
    closure_blockers: list[str]

    @staticmethod
    def resolve_loan(obj):
        return obj.loan.number

    @staticmethod
    def resolve_status(obj):
        return obj.loan.status

    @staticmethod
    def resolve_obligations(obj):
        return _obligations(obj)

    @staticmethod
    def resolve_closure_blockers(obj):
        return obj.blockers


class AccountLineOut(Schema):
    sample_id: int
    identifier: str
    subsplit_of: str | None
    state: str
    lent_ug: int
    from_split_ug: int
    consumed_ug: int
    split_off_ug: int
    loss_ug: int
    expected_ug: int
    returned_ug: int | None
    difference_ug: int | None


class AccountabilityOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "loan": "MV-2026-0001",
                    "lines": [
                        {
                            "sample_id": 3,
                            "identifier": "CE5C0400YJFM00500-1",
                            "subsplit_of": None,
                            "state": "stored",
                            "lent_ug": 1500000,
                            "from_split_ug": 0,
                            "consumed_ug": 200000,
                            "split_off_ug": 100000,
                            "loss_ug": 10,
                            "expected_ug": 1199990,
                            "returned_ug": 1199990,
                            "difference_ug": 0,
                        },
                        {
                            "sample_id": 5,
                            "identifier": "CE5C0400YJFM00500-1-1",
                            "subsplit_of": "CE5C0400YJFM00500-1",
                            "state": "stored",
                            "lent_ug": 0,
                            "from_split_ug": 100000,
                            "consumed_ug": 0,
                            "split_off_ug": 0,
                            "loss_ug": 0,
                            "expected_ug": 100000,
                            "returned_ug": 100000,
                            "difference_ug": 0,
                        },
                    ],
                    "totals": {
                        "sample_id": 0,
                        "identifier": "total",
                        "subsplit_of": None,
                        "state": "",
                        "lent_ug": 1500000,
                        "from_split_ug": 100000,
                        "consumed_ug": 200000,
                        "split_off_ug": 100000,
                        "loss_ug": 10,
                        "expected_ug": 1299990,
                        "returned_ug": 1299990,
                        "difference_ug": 0,
                    },
                    "lent": "1.5 g",
                }
            ]
        }
    )

    loan: str
    lines: list[AccountLineOut]
    totals: AccountLineOut
    lent: str = Field(description="total lent, readable")

    @staticmethod
    def resolve_loan(obj):
        return obj.loan.number

    @staticmethod
    def resolve_lent(obj):
        return format_mass(obj.totals.lent_ug)


# --- incidents and stock checks ----------------------------------------------------------------


class IncidentResolveIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "resolution": "the borrower's balance was checked; record the true mass",
                    "action": "reweigh",
                    "measured_ug": 1_495_000,
                }
            ]
        }
    )

    resolution: str
    action: str = Field("accept", description="accept, reweigh, lost or found")
    measured_ug: int | None = None
    location_code: str = Field("", description="where a found sample is put")


class StockCheckIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"location_code": "MAIN-N2-01"}]})

    location_code: str


class StockLineIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"found": True, "measured_ug": 2_000_004, "note": ""}]}
    )

    found: bool
    measured_ug: int | None = None
    note: str = ""


class StockLineOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "sample_id": 1,
                    "identifier": "CE5C0400YJFM00701",
                    "expected_mass_ug": 2000000,
                    "found": True,
                    "measured_mass_ug": 2000000,
                    "note": "",
                }
            ]
        }
    )

    id: int
    sample_id: int
    identifier: str
    expected_mass_ug: int
    found: bool | None
    measured_mass_ug: int | None
    note: str

    @staticmethod
    def resolve_identifier(obj):
        return obj.sample.identifier


class StockCheckOut(Schema):
    """A stock check without its lines: there is one per sample of the location, thousands for a
    large store; they come a page at a time from `GET /stock-checks/{check_id}/lines`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "location": "MAIN",
                    "status": "closed",
                    "started_at": "2026-11-22T14:59:06.065Z",
                    "closed_at": "2026-11-22T14:59:06.619Z",
                }
            ]
        }
    )

    id: int
    location: str
    status: str
    started_at: datetime
    closed_at: datetime | None

    @staticmethod
    def resolve_location(obj):
        return obj.location.code


# --- exhibitions -------------------------------------------------------------------------------


class StopIn(Schema):
    venue: str
    city: str
    country: str = Field(description="ISO 3166-1 alpha-2")
    arrive_on: date
    depart_on: date


class ExhibitionIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Chang'e-6 far-side samples at IAC 2024",
                    "organiser": "CNSA",
                    "starts_on": "2024-10-14",
                    "ends_on": "2024-10-18",
                    "responsible_official": "Li Wei",
                    "deputy_official": "Zhang Min",
                    "insurance_value": "5000000.00",
                    "insurance_currency": "EUR",
                    "sample_identifiers": ["CE6C0100YJFM00101"],
                    "stops": [
                        {
                            "venue": "MiCo",
                            "city": "Milan",
                            "country": "IT",
                            "arrive_on": "2024-10-12",
                            "depart_on": "2024-10-19",
                        }
                    ],
                }
            ]
        }
    )

    title: str
    organiser: str
    starts_on: date
    ends_on: date
    responsible_official: str
    deputy_official: str
    insurance_value: Decimal
    insurance_currency: str = "CNY"
    sample_identifiers: list[str]
    stops: list[StopIn]
    continuous_watch: bool = True
    locked_case: bool = True
    transfer_log: bool = True


class ExhibitionDispatchIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "container_code": "CASE-EXPO-3",
                    "seal_number": "SEAL-007730",
                    "courier": "Fine-art transport Ltd",
                    "location_code": "PACK",
                }
            ]
        }
    )

    container_code: str
    seal_number: str
    courier: str
    location_code: str = Field(description="where the case is packed")


class HandoverIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2024-10-12T09:30:00+02:00",
                    "place": "MiCo loading bay",
                    "from_party": "Courier",
                    "to_party": "Li Wei",
                    "seal_number": "SEAL-IAC-1",
                    "seal_intact": True,
                }
            ]
        }
    )

    at: datetime
    place: str
    from_party: str
    to_party: str
    seal_number: str
    seal_intact: bool
    notes: str = ""


class DisplayIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"on_display": True}]})

    on_display: bool = Field(description="true to put on display, false to take down")


class LocationIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"location_code": "RET-01"}]})

    location_code: str


class StopOut(Schema):
    order: int
    venue: str
    city: str
    country: str
    arrive_on: date
    depart_on: date


class HandoverOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "at": "2026-11-22T14:59:08.195Z",
                    "place": "MiCo loading bay",
                    "from_party": "Secure Art Logistics",
                    "to_party": "Li Wei",
                    "seal_number": "SEAL-IAC",
                    "seal_intact": True,
                    "notes": "",
                }
            ]
        }
    )

    id: int
    at: datetime
    place: str
    from_party: str
    to_party: str
    seal_number: str
    seal_intact: bool
    notes: str


class ExhibitionOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "title": "Chang'e-5 at IAC",
                    "organiser": "CNSA",
                    "status": "on_display",
                    "starts_on": "2026-10-14",
                    "ends_on": "2026-10-18",
                    "responsible_official": "Li Wei",
                    "deputy_official": "Zhang Min",
                    "continuous_watch": True,
                    "locked_case": True,
                    "transfer_log": True,
                    "insurance_value": "5000000.00",
                    "insurance_currency": "EUR",
                    "samples": ["CE5C0400YJFM00900"],
                    "stops": [
                        {
                            "order": 1,
                            "venue": "MiCo",
                            "city": "Milan",
                            "country": "IT",
                            "arrive_on": "2026-10-12",
                            "depart_on": "2026-10-19",
                        }
                    ],
                    "handovers": [
                        {
                            "id": 1,
                            "at": "2026-11-22T14:59:08.195Z",
                            "place": "MiCo loading bay",
                            "from_party": "Secure Art Logistics",
                            "to_party": "Li Wei",
                            "seal_number": "SEAL-IAC",
                            "seal_intact": True,
                            "notes": "",
                        }
                    ],
                }
            ]
        }
    )

    id: int
    title: str
    organiser: str
    status: str
    starts_on: date
    ends_on: date
    responsible_official: str
    deputy_official: str
    continuous_watch: bool
    locked_case: bool
    transfer_log: bool
    insurance_value: Decimal
    insurance_currency: str
    samples: list[str]
    stops: list[StopOut]
    handovers: list[HandoverOut]

    @staticmethod
    def resolve_samples(obj):
        return [i.sample.identifier for i in obj.items.select_related("sample")]

    @staticmethod
    def resolve_stops(obj):
        return list(obj.stops.order_by("order"))

    @staticmethod
    def resolve_handovers(obj):
        return list(obj.handovers.order_by("at"))


# --- publications ------------------------------------------------------------------------------


class PublicationIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doi": "10.1038/s41586-021-04100-2",
                    "title": "Two-billion-year-old volcanism on the Moon",
                    "journal": "Nature",
                    "year": 2021,
                    "authors": ["Li, Q.-L.", "Zhou, Q."],
                    "sample_identifiers": ["CE5C0400YJFM00505"],
                    "loan_id": 7,
                }
            ]
        }
    )

    doi: str
    title: str
    journal: str = ""
    year: int
    authors: list[str]
    sample_identifiers: list[str]
    loan_id: int | None = Field(None, description="the loan it came from; curators may omit it")


class PublicationRecordedOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "publication": {
                        "id": 1,
                        "doi": "10.1126/science.abl7957",
                        "title": "Age and composition of young basalts on the Moon",
                        "journal": "Science",
                        "year": 2021,
                        "authors": [{"name": "Che, X.", "position": 0}],
                    },
                    "warnings": ["no loan covers CE5C0400YJFM00950"],
                }
            ]
        }
    )

    publication: PublicationOut
    warnings: list[str]
