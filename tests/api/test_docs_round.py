"""The round in docs/api.md, run exactly as written against a live server, so the page stays true.

Every ```python block of the page runs, in order, in one namespace; the script finds the
server's address and each person's token in the environment, as the page tells its readers.
"""

import re
from pathlib import Path

import pytest

from moonvault.accounts.models import ApiToken, Role
from moonvault.accounts.services import api_token_create, institution_create, person_create
from moonvault.catalog.models import Sample, State, StorageLocation
from moonvault.custody.models import CustodyEvent
from moonvault.custody.verification import custody_verify
from moonvault.loans.models import Loan

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PEOPLE = {
    "chair": (Role.COMMITTEE,),
    "pi": (Role.APPLICANT,),
    "reviewer1": (Role.REVIEWER,),
    "reviewer2": (Role.REVIEWER,),
    "curator": (Role.CURATOR,),
}


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture
def deployment(live_server, mission_ce5, cabinet, institution, monkeypatch):
    """A fresh deployment as the page assumes it: the mission, the locations, five people."""
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    StorageLocation.objects.create(code="RET-01", name="Returned material", kind="cabinet")
    monkeypatch.setenv("MOONVAULT_API", f"{live_server.url}/api/v1")
    # The borrower works elsewhere than the panel: the same institution would be a conflict.
    borrower = institution_create(name="University of Münster", country="DE")
    for name, roles in PEOPLE.items():
        person = person_create(
            username=name,
            password=f"x-{name}-2026!",
            institution=borrower if name == "pi" else institution,
            roles=roles,
        )
        token = api_token_create(actor=person.user, name="round", scope=ApiToken.Scope.WRITE)
        monkeypatch.setenv(f"MOONVAULT_TOKEN_{name.upper()}", token)


def test_the_page_shows_the_round_as_python_blocks():
    code = "\n".join(python_blocks(DOC.read_text()))
    for path in ('"/samples"', '"/calls"', '"/submit"', '"/review"', '"/decide"', '"/loans"'):
        assert path in code or path.strip('"') in code, path
    assert "/return-receive" in code


def test_the_round_in_the_docs_runs_against_a_live_server(deployment, capsys):
    namespace: dict = {"__name__": "docs_api_round"}
    for block in python_blocks(DOC.read_text()):
        exec(compile(block, str(DOC), "exec"), namespace)

    assert namespace["incidents"] == []
    loan = Loan.objects.get(pk=namespace["loan"]["id"])
    assert loan.signed_by_name == "M. Weber"
    lent = list(loan.items.select_related("sample"))
    assert lent, "the loan lends the allocated samples"
    for item in lent:
        assert item.sample.state == State.STORED
        assert not item.sample.pristine
        assert item.sample.location.code == "RET-01"
    source = Sample.objects.get(identifier="CE5C0400YJFM00901")
    kinds = set(
        CustodyEvent.objects.filter(sample__path__startswith=source.path).values_list(
            "kind", flat=True
        )
    )
    assert {"received", "split", "allocated", "packed", "shipped", "delivered", "returned"} <= kinds
    report = custody_verify()
    assert report.ok, report.problems
    printed = capsys.readouterr().out
    assert printed.startswith("approved")
    assert "incidents: []" in printed
