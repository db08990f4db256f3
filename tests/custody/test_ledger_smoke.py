from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM


def test_split_is_recorded_and_the_ledger_verifies(receive, mission_ce5):
    parent = receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    sample_split(actor=None, sample_id=parent.id, children=[ChildSpec(GRAM // 2)], loss_ug=10)
    report = custody_verify()
    assert report.ok, report.problems
    assert report.events == 3
    assert report.accounts["CE5"].handling_loss == 10
