"""A real Chromium driving the site on a live server, with data built through the services.

Debian's Chromium is used, never a browser downloaded by Playwright: the tests are skipped when
/usr/bin/chromium is missing, except in CI (CI=true), where a missing browser is a failure.
"""

import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.catalog.models import Form, Pool, StorageLocation
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.loans.services import research
from moonvault.review import services as review
from moonvault.review.models import Assignment
from tests.conftest import GRAM

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MG = 1_000
# Passwords of the users made by the shared fixtures (tests/conftest.py).
PASSWORDS = {"curator": "x-Curator-2026", "chair": "x-Chair-2026!"}
PASSWORDS |= {f"pi{i}": "x-Pi-2026!" for i in range(3)}
PASSWORDS |= {f"rev{i}": "x-Rev-2026!" for i in range(3)}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium and chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI requires the browser tests to run", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # The Playwright driver runs an event loop in the test's thread; the ORM calls the tests make
    # between browser steps are plain synchronous calls, safe here. Only while the browser runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def site(live_server):
    """The live server's address; the data the test builds is committed, so the server sees it."""
    return live_server.url


@dataclass
class Journey:
    """One person's browser session; each step leaves a numbered screenshot."""

    page: object
    base: str
    folder: Path
    steps: list[str] = field(default_factory=list)

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        return self.page

    def shot(self, step: str) -> None:
        self.steps.append(step)
        name = f"{len(self.steps):02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        self.page.screenshot(path=str(self.folder / name), full_page=True)

    def log_in(self, username: str, password: str | None = None) -> None:
        self.go("/login/")
        main = self.page.get_by_role("main")
        main.get_by_label("Username").fill(username)
        main.get_by_label("Password").fill(password or PASSWORDS[username])
        main.get_by_role("button", name="Log in").click()
        self.page.wait_for_load_state()
        assert self.page.get_by_role("button", name=re.compile(f"Log out.*{username}")).count()

    def message(self) -> str:
        """The success or error messages the last action left at the top of the page."""
        return " ".join(self.page.locator("ul.messages li").all_inner_texts())


@pytest.fixture
def journey(browser, site, request):
    """journey("name") opens a fresh browser context (its own cookies) saving its screenshots
    under var/screenshots/<name>/; several journeys in one test are several people, and
    javascript=False is a person whose browser runs no script."""
    contexts = []

    def start(name: str, *, locale: str = "en-GB", javascript: bool = True) -> Journey:
        folder = SCREENSHOTS / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        context = browser.new_context(
            locale=locale,
            viewport={"width": 1280, "height": 900},
            base_url=site,
            java_script_enabled=javascript,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return Journey(context.new_page(), site, folder)

    yield start
    for context in contexts:
        context.close()


# --- data, built through the services ---------------------------------------------------------


@pytest.fixture
def catalog_family(receive, mission_ce5, facility):
    """A scooped regolith received and split into a powder aliquot and a rock fragment."""
    root = receive("CE5C0300YJFM00300", mission_ce5, 3 * GRAM)
    receive("CE5Z0100YJFM00100", mission_ce5, GRAM, form=Form.DRILLED_REGOLITH)
    aliquot, fragment = sample_split(
        actor=None,
        sample_id=root.pk,
        children=[
            ChildSpec(250 * MG, form=Form.POWDER),
            ChildSpec(40 * MG, form=Form.ROCK_FRAGMENT),
        ],
        loss_ug=12,
        reason="first allocation round",
    )
    return SimpleNamespace(root=root, aliquot=aliquot, fragment=fragment)


def open_call(committee, reviewers, *, title="Chang'e-5 international round", load=3):
    call = calls.call_create(
        actor=committee,
        title=title,
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH],
        release_budget_ug=3 * GRAM,
        per_proposal_cap_ug=2 * GRAM,
        proposals_due=timezone.now() + timedelta(days=30),
        review_due=(timezone.now() + timedelta(days=60)).date(),
        decision_due=(timezone.now() + timedelta(days=90)).date(),
        panel=reviewers,
        reviewers_per_proposal=2,
        max_reviewer_load=load,
    )
    return calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.OPEN)


def submitted_proposal(call, pi, title: str, *, requested_mg: int, minimum_mg: int):
    proposal = calls.proposal_create(actor=pi, call_id=call.pk, title=title)
    calls.proposal_update(
        actor=pi,
        proposal_id=proposal.pk,
        abstract="Space weathering of agglutinates.",
        science_case="Compare near-side weathering rims with the far side.",
        data_sharing_plan="Open data after 12 months.",
        keywords="isotopes, SIMS",
    )
    calls.method_add(
        actor=pi,
        proposal_id=proposal.pk,
        technique="SIMS",
        destructive=True,
        mass_ug=minimum_mg * MG,
    )
    calls.item_add(
        actor=pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.SCOOPED_REGOLITH,
        requested_mass_ug=requested_mg * MG,
        minimum_mass_ug=minimum_mg * MG,
    )
    return calls.proposal_submit(actor=pi, proposal_id=proposal.pk)


@pytest.fixture
def round_in_review(mission_ce5, receive, round_people):
    """Three eligible proposals of a call in review, with no reviewer assigned yet."""
    committee, applicants, reviewers = round_people
    for i in range(2):
        receive(f"CE5C0400YJFM0050{i}", mission_ce5, 2 * GRAM)
    call = open_call(committee, reviewers)
    requests = [(1200, 1000), (1000, 800), (1500, 1200)]
    proposals = [
        submitted_proposal(
            call, pi, f"Isotopes by {pi.username}", requested_mg=req, minimum_mg=minimum
        )
        for pi, (req, minimum) in zip(applicants, requests, strict=True)
    ]
    for status in (CallStatus.CLOSED, CallStatus.SCREENING):
        calls.call_transition(actor=committee, call_id=call.pk, to_status=status)
    calls.call_screen(actor=committee, call_id=call.pk)
    for p in proposals:
        calls.proposal_screen_decide(actor=committee, proposal_id=p.pk, eligible=True)
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.REVIEW)
    return SimpleNamespace(
        call=call,
        committee=committee,
        applicants=applicants,
        reviewers=reviewers,
        proposals=proposals,
    )


def review_all(call) -> None:
    """Every assigned reviewer scores; the first proposal scores best."""
    first = min(call.proposals.values_list("pk", flat=True))
    for n, a in enumerate(Assignment.objects.filter(proposal__call=call).order_by("pk")):
        score = max(5 - (a.proposal_id - first), 1)
        review.review_submit(
            actor=a.reviewer,
            proposal_id=a.proposal_id,
            merit=score,
            feasibility=score,
            justification=max(score - n % 2, 1),
            comments_to_applicant="Clear plan.",
        )


@pytest.fixture
def decided_round(round_in_review, curator, facility):
    """The round reviewed, ranked, allocated and decided; the first proposal approved."""
    r = round_in_review
    review.assignment_run(actor=r.committee, call_id=r.call.pk)
    review_all(r.call)
    calls.call_transition(actor=r.committee, call_id=r.call.pk, to_status=CallStatus.RANKING)
    plan = plan_propose(actor=r.committee, call_id=r.call.pk)
    plan_apply(actor=r.committee, plan_id=plan.pk)
    plan_decide(actor=r.committee, plan_id=plan.pk)
    calls.call_transition(actor=r.committee, call_id=r.call.pk, to_status=CallStatus.DECIDED)
    StorageLocation.objects.create(code="RET-01", name="Returned material", kind="cabinet")
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    r.curator = curator
    return r


@pytest.fixture
def agreement(decided_round):
    """A loan agreement for the first proposal, drawn up and awaiting its signature."""
    r = decided_round
    loan = research.loan_create(
        actor=r.curator,
        proposal_id=r.proposals[0].pk,
        official_name="Dr. A. Official",
        allowed_techniques="SIMS, EPMA",
        destructive_allowed=True,
        destructive_max_ug=300 * MG,
        starts_on=date(2026, 1, 10),
    )
    return SimpleNamespace(loan=loan, pi=r.proposals[0].pi, curator=r.curator, round=r)


@pytest.fixture
def shipped_loan(agreement):
    """The agreement signed, packed and dispatched: the container is on its way."""
    a = agreement
    research.loan_record_signature(actor=a.curator, loan_id=a.loan.pk, signed_by_name="A. Official")
    shipment = research.shipment_pack(
        actor=a.curator,
        loan_id=a.loan.pk,
        container_code="BOX-1",
        seal_number="SEAL-0001",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(
        actor=a.curator, shipment_id=shipment.pk, courier="SF Express", tracking_number="SF123"
    )
    a.loan.refresh_from_db()
    a.sample = a.loan.items.get().sample
    return a
