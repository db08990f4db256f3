"""Reviewer assignment: hand-made optima, constraints, infeasibility reasons, pricing."""

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from moonvault.allocation.optimizer import AssignmentProblem, Reviewer, solve_assignment


def reviewers(*loads):
    return tuple(Reviewer(f"r{i}", max_load=hi, min_load=lo) for i, (lo, hi) in enumerate(loads))


def full_milp(problem, fairness=False):
    """The complete pair set as one MILP; the reference the pruned solver must match."""
    props, revs = problem.proposals, problem.reviewers
    pairs = [(p, r.id) for p in props for r in revs if (p, r.id) not in problem.conflicts]
    a = np.array([problem.affinity.get(pair, 0.0) for pair in pairs])
    n = len(pairs)
    if n == 0:
        return None
    rows = np.zeros((len(props) + len(revs), n))
    for j, (p, r) in enumerate(pairs):
        rows[props.index(p), j] = 1
        rows[len(props) + [v.id for v in revs].index(r), j] = 1
    lo = [problem.k] * len(props) + [r.min_load for r in revs]
    hi = [problem.k] * len(props) + [r.max_load for r in revs]
    forced = np.array([pair in problem.forced for pair in pairs], dtype=float)
    cons = [LinearConstraint(rows, lo, hi)]
    if not fairness:
        res = milp(-a, constraints=cons, integrality=np.ones(n), bounds=Bounds(forced, 1))
        return None if res.x is None else -res.fun
    floor_rows = np.zeros((len(props), n + 1))
    floor_rows[:, n] = 1
    for j, (p, _) in enumerate(pairs):
        floor_rows[props.index(p), j] = -a[j]
    cons = [LinearConstraint(np.hstack([rows, np.zeros((len(rows), 1))]), lo, hi)]
    cons.append(LinearConstraint(floor_rows, -np.inf, 0))
    c = np.zeros(n + 1)
    c[n] = -1
    bounds = Bounds(np.append(forced, -np.inf), np.append(np.ones(n), np.inf))
    res = milp(c, constraints=cons, integrality=np.append(np.ones(n), 0), bounds=bounds)
    return None if res.x is None else -res.fun


def test_known_optimum_is_found_on_a_hand_made_instance():
    problem = AssignmentProblem(
        proposals=("p1", "p2", "p3"),
        reviewers=reviewers((0, 1), (0, 1), (0, 1)),
        k=1,
        affinity={("p1", "r0"): 0.9, ("p1", "r1"): 0.8, ("p2", "r0"): 0.85, ("p3", "r2"): 0.1},
    )
    result = solve_assignment(problem)
    assert result.status == "optimal" and result.optimality_proven
    assert set(result.pairs) == {("p1", "r1"), ("p2", "r0"), ("p3", "r2")}
    assert abs(result.total_affinity - 1.75) < 1e-9


def test_conflicted_pairs_are_never_assigned_and_forced_pairs_always_are():
    problem = AssignmentProblem(
        proposals=("p1", "p2"),
        reviewers=reviewers((0, 2), (0, 2), (0, 2)),
        k=2,
        affinity={("p1", "r0"): 1.0, ("p2", "r0"): 1.0, ("p2", "r1"): 0.5},
        conflicts=frozenset({("p1", "r0")}),
        forced=frozenset({("p2", "r2")}),
    )
    result = solve_assignment(problem)
    assert ("p1", "r0") not in result.pairs
    assert ("p2", "r2") in result.pairs
    assert set(result.pairs) == {("p1", "r1"), ("p1", "r2"), ("p2", "r0"), ("p2", "r2")}


def test_every_proposal_gets_k_distinct_reviewers_within_their_loads():
    problem = AssignmentProblem(
        proposals=tuple(f"p{i}" for i in range(6)),
        reviewers=reviewers((2, 3), (0, 4), (0, 4), (3, 5)),
        k=2,
        affinity={(f"p{i}", "r1"): 1.0 for i in range(6)},
    )
    result = solve_assignment(problem)
    per_proposal = Counter(p for p, _ in result.pairs)
    per_reviewer = Counter(r for _, r in result.pairs)
    assert set(per_proposal.values()) == {2} and len(set(result.pairs)) == 12
    assert per_reviewer["r0"] >= 2 and per_reviewer["r3"] >= 3
    assert per_reviewer["r1"] == 4


def test_a_proposal_without_enough_unconflicted_reviewers_is_named():
    problem = AssignmentProblem(
        proposals=("p1", "p2"),
        reviewers=reviewers((0, 2), (0, 2), (0, 2)),
        k=2,
        conflicts=frozenset({("p1", "r0"), ("p1", "r1")}),
    )
    result = solve_assignment(problem)
    assert result.status == "infeasible"
    [reason] = result.reasons
    assert reason.kind == "too_few_reviewers" and reason.proposal == "p1"
    assert "only 1 reviewers" in reason.message and "r0" in reason.message


def test_capacity_shortfall_is_reported_with_the_numbers():
    problem = AssignmentProblem(("p1", "p2", "p3"), reviewers((0, 1), (0, 2)), k=1)
    assert solve_assignment(problem).status == "optimal"
    short = AssignmentProblem(("p1", "p2", "p3"), reviewers((0, 1), (0, 1)), k=1)
    result = solve_assignment(short)
    assert [r.kind for r in result.reasons] == ["capacity_shortfall"]
    assert "2 reviews" in result.reasons[0].message and "need 3" in result.reasons[0].message


def test_unreachable_minimum_load_is_reported_per_reviewer():
    problem = AssignmentProblem(
        proposals=("p1", "p2"),
        reviewers=reviewers((2, 2), (0, 2)),
        k=1,
        conflicts=frozenset({("p1", "r0")}),
    )
    result = solve_assignment(problem)
    assert result.status == "infeasible"
    assert any(r.kind == "min_load" and r.reviewer == "r0" for r in result.reasons)


def test_proposals_competing_for_the_same_few_reviewers_are_explained():
    # Each proposal alone has enough reviewers and capacity suffices overall, but p1 and p2 can
    # only use r0, which takes one proposal.
    problem = AssignmentProblem(
        proposals=("p1", "p2", "p3"),
        reviewers=reviewers((0, 1), (0, 5)),
        k=1,
        conflicts=frozenset({("p1", "r1"), ("p2", "r1")}),
    )
    result = solve_assignment(problem)
    assert result.status == "infeasible"
    assert [r.kind for r in result.reasons] == ["too_few_reviewers"]
    assert result.reasons[0].proposal in {"p1", "p2"}
    assert "needed by other proposals" in result.reasons[0].message


def test_the_fairness_variant_lifts_the_worst_served_proposal():
    problem = AssignmentProblem(
        proposals=("p1", "p2"),
        reviewers=reviewers((0, 1), (0, 1)),
        k=1,
        affinity={("p1", "r0"): 1.0, ("p1", "r1"): 0.9, ("p2", "r0"): 0.95},
    )
    plain = solve_assignment(problem)
    fair = solve_assignment(problem, fairness=True)
    assert set(plain.pairs) == {("p1", "r1"), ("p2", "r0")}
    assert set(fair.pairs) == {("p1", "r1"), ("p2", "r0")}
    assert abs(fair.min_proposal_affinity - 0.9) < 1e-9
    # The LP floor is 0.905 (fractional reviewers), so the integer floor cannot be proven by
    # duality alone and the result says so.
    assert not fair.optimality_proven


def test_the_fairness_variant_proves_optimality_when_the_lp_floor_is_integral():
    problem = AssignmentProblem(
        proposals=("p1", "p2"),
        reviewers=reviewers((0, 1), (0, 1)),
        k=1,
        affinity={("p1", "r0"): 1.0, ("p1", "r1"): 0.2, ("p2", "r0"): 0.3, ("p2", "r1"): 0.9},
    )
    fair = solve_assignment(problem, fairness=True)
    assert fair.optimality_proven and abs(fair.min_proposal_affinity - 0.9) < 1e-9


@st.composite
def small_problems(draw):
    n_p, n_r = draw(st.integers(1, 7)), draw(st.integers(2, 6))
    k = draw(st.integers(1, 2))
    props = tuple(f"p{i}" for i in range(n_p))
    revs = tuple(
        Reviewer(f"r{j}", max_load=draw(st.integers(1, 4)), min_load=draw(st.integers(0, 1)))
        for j in range(n_r)
    )
    pairs = [(p, r.id) for p in props for r in revs]
    weights = st.sampled_from([0.0, 0.0, 0.1, 0.25, 0.5, 1.0])
    affinity = {pair: w for pair in pairs if (w := draw(weights)) > 0}
    conflicts = frozenset(pair for pair in pairs if draw(st.integers(0, 15)) == 0)
    return AssignmentProblem(props, revs, k, affinity, conflicts)


@settings(max_examples=25, deadline=None)
@given(small_problems())
def test_pruned_column_generation_matches_the_full_milp(problem):
    result = solve_assignment(problem, top_n=1)
    reference = full_milp(problem)
    if reference is None:
        assert result.status == "infeasible" and result.reasons
        return
    assert result.optimality_proven
    assert abs(result.total_affinity - reference) < 1e-6


@settings(max_examples=12, deadline=None)
@given(small_problems())
def test_the_fairness_floor_matches_the_full_milp(problem):
    result = solve_assignment(problem, fairness=True, top_n=1)
    reference = full_milp(problem, fairness=True)
    if reference is None:
        assert result.status == "infeasible"
        return
    assert abs(result.min_proposal_affinity - reference) < 1e-6
