"""One small world with a row behind every kind of URL parameter, and the people of every role.

Built once per test module inside a transaction that is rolled back at the end; each test runs in
a savepoint within it (pytest-django's `db`), so what one request changes is undone before the next.

The people:
- `applicant` owns every proposal, loan and draft below; `other_applicant` has a proposal of their
  own in the same round;
- `reviewer` is assigned to the applicant's proposal; `conflicted` sits on the same panel but works
  at the applicant's institution (an automatic conflict);
- `committee` chairs the calls; `conflicted_committee` is a committee member at the applicant's
  institution; `curator` keeps the inventory; `administrator` runs the site.

Text that belongs to the applicant alone carries the marker OWN, so a test can look for it in any
answer given to somebody else.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from moonvault.accounts.models import ApiToken, Role
from moonvault.accounts.services import api_token_create, institution_create, person_create
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.catalog.models import Form, IdConvention, Mission, Pool, StorageLocation
from moonvault.catalog.services import NewSample, sample_receive
from moonvault.loans.services import exhibitions, incidents, research
from moonvault.loans.services.publications import publication_record
from tests.conftest import GRAM
from tests.rounds import MG, run_round_to_ranking

ROLES = (
    "anonymous",
    "applicant",
    "other_applicant",
    "reviewer",
    "conflicted",
    "curator",
    "committee",
    "conflicted_committee",
    "administrator",
)
OWN = "OWN-7Q4"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def pdf_upload(name: str = "plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@dataclass
class World:
    users: dict[str, User | None]
    ids: dict[str, object] = field(default_factory=dict)

    def token(self, role: str, scope: str = ApiToken.Scope.WRITE) -> str | None:
        user = self.users[role]
        return None if user is None else api_token_create(actor=user, name=role, scope=scope)


def _person(username, institution, *roles, **extra):
    return person_create(
        username=username,
        password="x-Moon-2026-pass",
        email=f"{username}@example.org",
        first_name=username.title(),
        institution=institution,
        roles=roles,
        **extra,
    ).user


def _loan_returning(curator, proposal):
    """A loan lent out in full whose borrower has packed the remnants to send back."""
    loan = research.loan_create(
        actor=curator,
        proposal_id=proposal.pk,
        official_name="Dr. B. Official",
        allowed_techniques="EPMA",
        destructive_allowed=False,
        starts_on=date(2026, 1, 10),
    )
    research.loan_record_signature(actor=curator, loan_id=loan.pk, signed_by_name="B. Official")
    shipment = research.shipment_pack(
        actor=curator,
        loan_id=loan.pk,
        container_code="BOX-2",
        seal_number="SEAL-2",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(
        actor=curator, shipment_id=shipment.pk, courier="SF", tracking_number="SF2"
    )
    samples = [item.sample for item in loan.items.all()]
    research.shipment_receive(
        actor=proposal.pi,
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={s.pk: s.mass_ug for s in samples},
    )
    return research.return_pack(
        actor=proposal.pi,
        loan_id=loan.pk,
        sample_ids=[s.pk for s in samples],
        container_code="BOX-3",
        seal_number="SEAL-3",
    )


def build_world() -> World:
    mission = Mission.objects.create(
        code="CE5",
        name="Chang'e-5",
        agency="CNSA",
        returned_mass_ug=1731 * GRAM,
        id_convention=IdConvention.SUFFIX,
    )
    facility = StorageLocation.objects.create(
        code="MAIN", name="Main laboratory", kind=StorageLocation.Kind.FACILITY
    )
    cabinet = StorageLocation.objects.create(
        code="MAIN-N2-01", name="Nitrogen cabinet 1", kind="cabinet", parent=facility
    )
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")

    def receive(identifier, mission, mass_ug, *, form=Form.SCOOPED_REGOLITH, pool=Pool.RESEARCH):
        new = NewSample(
            identifier=identifier,
            mission=mission,
            form=form,
            pool=pool,
            mass_ug=mass_ug,
            location=facility,
        )
        return sample_receive(actor=None, new=new)

    cn = institution_create(name="Purple Mountain Observatory", country="CN")
    fr = institution_create(name="Université Paris Cité", country="FR")
    de = institution_create(name="University of Münster", country="DE")
    us = institution_create(name="Brown University", country="US")
    committee = _person("chair", cn, Role.COMMITTEE)
    applicants = [_person(f"pi{i}", inst, Role.APPLICANT) for i, inst in enumerate([fr, de, us])]
    reviewers = [
        _person(f"rev{i}", inst, Role.REVIEWER, expertise=kw)
        for i, (inst, kw) in enumerate(
            [(cn, "sims, isotopes"), (us, "epma, petrology"), (fr, "noble gas, isotopes")]
        )
    ]
    call, _, proposals, _ = run_round_to_ranking(
        mission,
        receive,
        (committee, applicants, reviewers),
        requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)],
    )
    users = {
        "anonymous": None,
        "applicant": applicants[0],
        "other_applicant": applicants[1],
        "reviewer": reviewers[0],
        "conflicted": reviewers[2],
        "curator": _person("curator", cn, Role.CURATOR),
        "committee": committee,
        "conflicted_committee": _person("member", fr, Role.COMMITTEE),
        "administrator": _person("admin", None, Role.ADMINISTRATOR),
    }
    curator = users["curator"]
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(actor=committee, plan_id=plan.pk)
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.DECIDED)

    loan = research.loan_create(
        actor=curator,
        proposal_id=proposals[0].pk,
        official_name=f"Dr. Official {OWN}",
        allowed_techniques=f"SIMS {OWN}",
        destructive_allowed=True,
        destructive_max_ug=300 * MG,
        starts_on=date(2026, 1, 10),
    )
    research.loan_record_signature(
        actor=curator, loan_id=loan.pk, signed_by_name="A. Official", signed_pdf=pdf_upload()
    )
    shipment = research.shipment_pack(
        actor=curator,
        loan_id=loan.pk,
        container_code="BOX-1",
        seal_number="SEAL-1",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(
        actor=curator, shipment_id=shipment.pk, courier="SF", tracking_number="SF1"
    )
    sample = loan.items.get().sample
    research.shipment_receive(
        actor=applicants[0],
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug},
    )
    return_shipment = _loan_returning(curator, proposals[1])
    incident = incidents.incident_open(
        kind="inventory", description="One grain short at the annual inventory", loan=loan
    )

    display = receive(
        "CE5C0800YJYX00101", mission, 2 * MG, form=Form.ROCK_FRAGMENT, pool=Pool.PUBLIC_BENEFIT
    )
    receive("CE5C0800YJYX00102", mission, 3 * MG, form=Form.ROCK_FRAGMENT)
    check = incidents.stock_check_start(actor=curator, location_code=facility.code)
    exhibition = exhibitions.exhibition_create(
        actor=curator,
        title="Chang'e-5 at the IAC",
        organiser="IAC Milan",
        starts_on=date(2026, 10, 14),
        ends_on=date(2026, 10, 18),
        responsible_official="Ms. Official",
        deputy_official="Mr. Deputy",
        insurance_value=Decimal("1000000.00"),
        sample_identifiers=[display.identifier],
        stops=[
            {
                "venue": "MiCo",
                "city": "Milan",
                "country": "IT",
                "arrive_on": date(2026, 10, 12),
                "depart_on": date(2026, 10, 19),
            }
        ],
    )
    publication_record(
        actor=curator,
        doi="10.1038/s41586-021-04100-2",
        title="Two-billion-year-old volcanism on the Moon",
        journal="Nature",
        year=2021,
        authors=[applicants[0].username],
        sample_identifiers=[sample.identifier],
        loan_id=loan.pk,
    )

    due = timezone.now() + timedelta(days=30)
    open_call = calls.call_create(
        actor=committee,
        title="Chang'e-5 second round",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH],
        release_budget_ug=GRAM,
        per_proposal_cap_ug=GRAM,
        proposals_due=due,
        review_due=due.date() + timedelta(days=30),
        decision_due=due.date() + timedelta(days=60),
        panel=reviewers,
    )
    calls.call_transition(actor=committee, call_id=open_call.pk, to_status=CallStatus.OPEN)
    pi = applicants[0]
    draft = calls.proposal_create(actor=pi, call_id=open_call.pk, title=f"Draft {OWN}")
    calls.proposal_update(
        actor=pi, proposal_id=draft.pk, abstract=f"Abstract {OWN}", science_case=f"Case {OWN}"
    )
    method = calls.method_add(
        actor=pi, proposal_id=draft.pk, technique="NanoSIMS", destructive=True, mass_ug=MG
    )
    calls.item_add(
        actor=pi,
        proposal_id=draft.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.SCOOPED_REGOLITH,
        requested_mass_ug=500 * MG,
        minimum_mass_ug=100 * MG,
    )
    attachment = calls.attachment_add(actor=pi, proposal_id=draft.pk, uploaded=pdf_upload())
    team_member = calls.team_member_add(
        actor=pi,
        proposal_id=draft.pk,
        name="Ada Byron",
        email="ada@example.org",
        institution_name="University College London",
        country="GB",
    )
    doi = calls.doi_add(actor=pi, proposal_id=draft.pk, doi="10.1038/s41586-021-04100-2")
    api_token_create(actor=curator, name="weighing script")
    TOTPDevice.objects.create(user=curator, name="phone", confirmed=True)

    world = World(users=users)
    world.ids = {
        "call_id": call.pk,
        "open_call_id": open_call.pk,
        "proposal_id": proposals[0].pk,
        "draft_id": draft.pk,
        "method_id": method.pk,
        "item_id": draft.items.get().pk,
        "team_id": team_member.pk,
        "doi_id": doi.pk,
        "attachment_id": attachment.pk,
        "token_id": curator.api_tokens.get().pk,
        "sample_pk": sample.pk,
        "plan_id": plan.pk,
        "loan_id": loan.pk,
        "shipment_id": shipment.pk,
        "return_shipment_id": return_shipment.pk,
        "incident_id": incident.pk,
        "check_id": check.pk,
        "line_id": check.lines.first().pk,
        "exhibition_id": exhibition.pk,
        "identifier": sample.identifier,
        "code": mission.code,
        "assignment_id": proposals[0].assignments.get(reviewer=reviewers[0]).pk,
        "reviewer_user_id": reviewers[0].pk,
        "location": cabinet.code,
    }
    return world


@dataclass
class Credentials:
    """A signed-in session cookie and a write-scope API token for each role, made once."""

    cookies: dict[str, str | None]
    tokens: dict[str, str | None]

    def client(self, role: str) -> Client:
        client = Client()
        if self.cookies[role]:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.cookies[role]
        return client

    def bearer(self, role: str) -> dict:
        token = self.tokens[role]
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}


def credentials_for(world: World, django_db_blocker) -> Credentials:
    """Use as `credentials = pytest.fixture(scope="module")(credentials_for)`: made inside the
    module's transaction, so that no test's rollback logs anybody out."""
    cookies, tokens = {}, {}
    with django_db_blocker.unblock():
        for role, user in world.users.items():
            cookies[role] = tokens[role] = None
            if user is not None:
                client = Client()
                client.force_login(user)
                cookies[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
                tokens[role] = world.token(role)
    return Credentials(cookies, tokens)


def world_in_one_transaction(django_db_setup, django_db_blocker, tmp_path_factory):
    """Use as `world = pytest.fixture(scope="module")(world_in_one_transaction)`."""
    media = tmp_path_factory.mktemp("media")
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=fast),
        transaction.atomic(),
    ):
        yield build_world()
        transaction.set_rollback(True)
