"""Ranking: the severity correction on a case worked by hand, and the committee's final order."""

from math import sqrt

import pytest

from moonvault.calls.models import CallStatus, ProposalAction, ProposalStatus
from moonvault.core.errors import Conflict, DomainError, PermissionDenied
from moonvault.review.models import RankEntry
from moonvault.review.selectors import ranking_figures
from moonvault.review.services import ranking_compute, ranking_set
from tests.calls.conftest import Round, refused

# Overall scores (the mean of the three criteria) given by three reviewers to three proposals:
#
#              A    B    C    mean   population sd
#   harsh H    3    4    1    8/3    sqrt(14)/3 ≈ 1.2472   (rev_us)
#   lenient L  5    4    5   14/3    sqrt(2)/3  ≈ 0.4714   (rev_jp)
#   middle M   4    3    4   11/3    sqrt(2)/3  ≈ 0.4714   (rev_fr)
#
# Raw means: A = 12/3 = 4, B = 11/3 ≈ 3.667, C = 10/3 ≈ 3.333, so raw order A, B, C.
# z-scores, (score - reviewer mean) / reviewer sd:
#   H: A = 1/sqrt(14) ≈ 0.2673, B = 4/sqrt(14) ≈ 1.0690, C = -5/sqrt(14) ≈ -1.3363
#   L: A = 1/sqrt(2) ≈ 0.7071, B = -2/sqrt(2) ≈ -1.4142, C = 1/sqrt(2) ≈ 0.7071
#   M: the same as L.
# Mean z: A ≈ 0.5605, B ≈ -0.5865, C ≈ 0.0260. The nine scores have mean 11/3 and population sd
# sqrt(4/3) ≈ 1.1547, so the corrected means 11/3 + 1.1547 × mean z are A ≈ 4.3139, B ≈ 2.9895,
# C ≈ 3.6967: order A, C, B. B's lead over C came from the harsh reviewer's wide range; the two
# reviewers with narrow ranges both prefer C, and the correction weighs them accordingly.
SCORES = {
    "rev_us": {"A": (4, 3, 2), "B": (4, 4, 4), "C": (1, 1, 1)},
    "rev_jp": {"A": (5, 5, 5), "B": (4, 4, 4), "C": (5, 5, 5)},
    "rev_fr": {"A": (4, 4, 4), "B": (3, 3, 3), "C": (4, 4, 4)},
}
GRAND_MEAN, GRAND_SD = 11 / 3, sqrt(4 / 3)
MEAN_Z = {
    "A": (1 / sqrt(14) + 1 / sqrt(2) + 1 / sqrt(2)) / 3,
    "B": (4 / sqrt(14) - 2 / sqrt(2) - 2 / sqrt(2)) / 3,
    "C": (-5 / sqrt(14) + 1 / sqrt(2) + 1 / sqrt(2)) / 3,
}


@pytest.fixture
def scored(make_call, people):
    """A call in ranking with the three proposals above, each reviewed by all three reviewers."""
    r = Round(make_call(reviewers_per_proposal=3, max_reviewer_load=3), people)
    r.to(CallStatus.OPEN)
    proposals = {
        "A": r.submitted(people.pi, title="A: space weathering"),
        "B": r.submitted(people.other, title="B: volatile inventory"),
        "C": r.submitted(people.coi, title="C: basalt ages"),
    }
    r.in_review(*proposals.values())
    for name, proposal in proposals.items():
        reviewers = [getattr(people, username) for username in SCORES]
        r.assign(proposal, *reviewers)
        for reviewer in reviewers:
            r.review(proposal, reviewer, *SCORES[reviewer.username][name])
    r.to(CallStatus.RANKING)
    return r, proposals


def test_moving_to_ranking_ranks_by_the_severity_correction_computed_by_hand(scored):
    r, proposals = scored
    names = {p.pk: name for name, p in proposals.items()}
    entries = {names[e.proposal_id]: e for e in RankEntry.objects.filter(call=r.call)}

    assert entries["A"].corrected_mean == pytest.approx(4.3138666, abs=1e-6)
    assert entries["B"].corrected_mean == pytest.approx(2.9894802, abs=1e-6)
    assert entries["C"].corrected_mean == pytest.approx(3.6966532, abs=1e-6)
    for name, entry in entries.items():
        assert entry.corrected_mean == pytest.approx(GRAND_MEAN + GRAND_SD * MEAN_Z[name])
    assert {n: e.raw_mean for n, e in entries.items()} == pytest.approx(
        {"A": 4, "B": 11 / 3, "C": 10 / 3}
    )
    assert {n: e.spread for n, e in entries.items()} == pytest.approx({"A": 2, "B": 1, "C": 4})
    assert {n: (e.computed_rank, e.final_rank) for n, e in entries.items()} == {
        "A": (1, 1),
        "C": (2, 2),
        "B": (3, 3),
    }
    for proposal in proposals.values():
        proposal.refresh_from_db()
        assert proposal.status == ProposalStatus.RANKED
    # The committee's page reads the same figures, best first.
    figures = ranking_figures(call=r.call)
    assert [f.proposal.title[0] for f in figures] == ["A", "C", "B"]
    assert [f.reviews for f in figures] == [3, 3, 3]
    assert [f.raw_mean for f in figures] == pytest.approx([4, 10 / 3, 11 / 3])


def test_keeping_the_computed_order_needs_no_reason(scored):
    r, p = scored
    saved = ranking_set(
        actor=r.people.member,
        call_id=r.call.pk,
        order=[p["A"].pk, p["C"].pk, p["B"].pk],
        reasons={p["A"].pk: "first anyway"},
    )
    assert [(e.proposal_id, e.final_rank, e.reason, e.set_by) for e in saved] == [
        (p["A"].pk, 1, "", r.people.member),
        (p["C"].pk, 2, "", r.people.member),
        (p["B"].pk, 3, "", r.people.member),
    ]
    assert not ProposalAction.objects.filter(action="ranked").exists()


def test_every_change_against_the_computed_order_records_its_reason(scored):
    r, p = scored
    order = [p["A"].pk, p["B"].pk, p["C"].pk]
    with refused(DomainError, field=f"reasons.{p['C'].pk}", message="moves from 2 to 3"):
        ranking_set(
            actor=r.people.chair,
            call_id=r.call.pk,
            order=order,
            reasons={p["B"].pk: "only B's team can handle the volatiles"},
        )

    ranking_set(
        actor=r.people.chair,
        call_id=r.call.pk,
        order=order,
        reasons={
            p["B"].pk: "only B's team can handle the volatiles",
            p["C"].pk: "C's ages are also measured in a funded Chang'e-6 study",
        },
    )

    entries = {e.proposal_id: e for e in RankEntry.objects.filter(call=r.call)}
    assert [(entries[pk].computed_rank, entries[pk].final_rank) for pk in order] == [
        (1, 1),
        (3, 2),
        (2, 3),
    ]
    assert entries[p["B"].pk].reason == "only B's team can handle the volatiles"
    assert entries[p["A"].pk].reason == ""
    assert sorted(
        ProposalAction.objects.filter(action="ranked").values_list("proposal_id", "actor", "reason")
    ) == [
        (p["B"].pk, r.people.chair.pk, "only B's team can handle the volatiles"),
        (p["C"].pk, r.people.chair.pk, "C's ages are also measured in a funded Chang'e-6 study"),
    ]


def test_the_final_order_lists_every_ranked_proposal_exactly_once(scored, subtests):
    r, p = scored
    ids = {**{name: proposal.pk for name, proposal in p.items()}, "X": p["C"].pk + 100}
    for order in ("AC", "AAC", "ACBX", "ABCA", ""):
        with (
            subtests.test(order),
            refused(DomainError, field="order", message="every ranked proposal exactly once"),
        ):
            ranking_set(
                actor=r.people.chair, call_id=r.call.pk, order=[ids[c] for c in order], reasons={}
            )


def test_only_the_committee_ranks(scored, subtests):
    r, p = scored
    for who in ("pi", "rev_us", "curator"):
        with subtests.test(who), refused(PermissionDenied, field=None):
            ranking_set(
                actor=getattr(r.people, who),
                call_id=r.call.pk,
                order=[p["A"].pk, p["C"].pk, p["B"].pk],
                reasons={},
            )


def test_ranking_happens_only_while_the_call_is_in_ranking(round_):
    proposal = round_.submitted()
    round_.in_review(proposal)
    with refused(Conflict, field="status", message="not in ranking"):
        ranking_set(actor=round_.people.chair, call_id=round_.call.pk, order=[], reasons={})
    with refused(Conflict, field="status", message="not in ranking"):
        ranking_compute(actor=round_.people.chair, call_id=round_.call.pk)
