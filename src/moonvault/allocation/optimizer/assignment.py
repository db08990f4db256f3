"""Reviewer assignment as a transportation LP solved by HiGHS, with priced-out pruning.

Each proposal needs exactly ``k`` reviewers, each reviewer takes between ``min_load`` and
``max_load`` proposals, conflicted pairs are excluded and forced pairs are fixed to 1. The
constraint matrix is the incidence matrix of a bipartite graph, hence totally unimodular: a basic
optimal solution of the LP is integral, which is verified after every solve (a MILP is used if a
non-vertex solution ever comes back).

The complete pair set (10,000 x 3,000 = 30M columns) is too large to hand to the solver, so the LP
is solved on candidate pairs only: the best affinities of each proposal plus round-robin filler
pairs that alone would form a feasible assignment. The excluded pairs are then priced with the
LP duals: if no excluded pair has a negative reduced cost, the dual solution is feasible for the
full LP and the pruned optimum is proven optimal for the full problem. Otherwise the violating
pairs are added and the LP is solved again (column generation). Zero-affinity pairs are priced
per proposal against the largest reviewer duals, so the 30M pairs are never enumerated.

The fairness variant first maximises the smallest per-proposal affinity (auxiliary variable ``t``),
then fixes that floor and maximises the total. Both steps need integrality (the extra rows break
total unimodularity) and use ``milp``; optimality is proven only when the integer optimum reaches
the priced-out LP bound of the full problem.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

_DUAL_TOL = 1e-6
_INT_TOL = 1e-6
_MAX_PRICING_ROUNDS = 30
# Above this many allowed pairs the full problem is never built, even as a last resort.
_FULL_PAIR_LIMIT = 4_000_000


@dataclass(frozen=True)
class Reviewer:
    id: str
    max_load: int
    min_load: int = 0


@dataclass(frozen=True, eq=False)
class AffinityTable:
    """Sparse affinities by position in ``proposals`` and ``reviewers`` (absent pairs are 0).

    Large instances are built from numpy arrays; converting millions of pairs to and from a
    dictionary of string tuples would cost more than the solve.
    """

    proposal_index: np.ndarray
    reviewer_index: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class AssignmentProblem:
    proposals: tuple[str, ...]
    reviewers: tuple[Reviewer, ...]
    k: int
    affinity: Mapping[tuple[str, str], float] | AffinityTable = field(default_factory=dict)
    conflicts: frozenset[tuple[str, str]] = frozenset()
    forced: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class InfeasibilityReason:
    kind: str
    message: str
    proposal: str | None = None
    reviewer: str | None = None


@dataclass(frozen=True)
class AssignmentResult:
    status: str
    pairs: tuple[tuple[str, str], ...]
    total_affinity: float
    min_proposal_affinity: float
    bound: float | None
    optimality_proven: bool
    reasons: tuple[InfeasibilityReason, ...]
    candidate_pairs: int
    pricing_rounds: int
    solve_seconds: float


@dataclass
class _Instance:
    proposals: tuple[str, ...]
    reviewers: tuple[str, ...]
    k: int
    min_load: np.ndarray
    max_load: np.ndarray
    aff_p: np.ndarray
    aff_r: np.ndarray
    aff_v: np.ndarray
    conflict_keys: np.ndarray
    forced_p: np.ndarray
    forced_r: np.ndarray

    @property
    def n_p(self) -> int:
        return len(self.proposals)

    @property
    def n_r(self) -> int:
        return len(self.reviewers)

    def keys(self, p: np.ndarray, r: np.ndarray) -> np.ndarray:
        return p.astype(np.int64) * self.n_r + r.astype(np.int64)


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    return sorted_keys[pos] == keys


def _build_instance(problem: AssignmentProblem) -> _Instance:
    p_index = {p: i for i, p in enumerate(problem.proposals)}
    r_index = {r.id: i for i, r in enumerate(problem.reviewers)}
    if len(p_index) != len(problem.proposals) or len(r_index) != len(problem.reviewers):
        raise ValueError("proposal and reviewer ids must be unique")
    n_r = len(problem.reviewers)

    def index_pairs(pairs) -> tuple[np.ndarray, np.ndarray]:
        try:
            idx = [(p_index[p], r_index[r]) for p, r in pairs]
        except KeyError as exc:
            raise ValueError(f"unknown id in pair: {exc}") from None
        arr = np.array(idx, dtype=np.int64).reshape(-1, 2)
        return arr[:, 0], arr[:, 1]

    if isinstance(problem.affinity, AffinityTable):
        ap = np.asarray(problem.affinity.proposal_index, dtype=np.int64)
        ar = np.asarray(problem.affinity.reviewer_index, dtype=np.int64)
        av = np.asarray(problem.affinity.value, dtype=np.float64)
    else:
        ap, ar = index_pairs(problem.affinity.keys())
        av = np.fromiter(problem.affinity.values(), dtype=np.float64, count=len(ap))
    if np.any(av < 0) or not np.all(np.isfinite(av)):
        raise ValueError("affinities must be finite and non-negative")
    cp, cr = index_pairs(problem.conflicts)
    conflict_keys = np.unique(cp * n_r + cr)
    keep = av > 0
    ap, ar, av = ap[keep], ar[keep], av[keep]
    keys = ap * n_r + ar
    keep = ~_contains(conflict_keys, keys)
    keys, av = keys[keep], av[keep]
    # Duplicate pairs keep their last value, as a dictionary update would.
    order = np.argsort(keys, kind="stable")
    keys, av = keys[order], av[order]
    last = np.ones(len(keys), dtype=bool)
    last[:-1] = keys[1:] != keys[:-1]
    keys, av = keys[last], av[last]
    fp, fr = index_pairs(problem.forced)
    return _Instance(
        proposals=tuple(problem.proposals),
        reviewers=tuple(r.id for r in problem.reviewers),
        k=problem.k,
        min_load=np.array([r.min_load for r in problem.reviewers], dtype=np.int64),
        max_load=np.array([r.max_load for r in problem.reviewers], dtype=np.int64),
        aff_p=keys // max(n_r, 1),
        aff_r=keys % max(n_r, 1),
        aff_v=av,
        conflict_keys=conflict_keys,
        forced_p=fp,
        forced_r=fr,
    )


def _static_infeasibility(inst: _Instance) -> list[InfeasibilityReason]:
    """Counting conditions that are necessary for feasibility, each with a reason."""
    reasons: list[InfeasibilityReason] = []
    k, n_p, n_r = inst.k, inst.n_p, inst.n_r
    forced_keys = inst.keys(inst.forced_p, inst.forced_r)
    for key in forced_keys[_contains(inst.conflict_keys, forced_keys)]:
        p, r = inst.proposals[key // n_r], inst.reviewers[key % n_r]
        reasons.append(
            InfeasibilityReason(
                "forced_conflict",
                f"proposal {p} is forced to reviewer {r}, who has a conflict of interest with it",
                proposal=p,
                reviewer=r,
            )
        )
    forced_per_p = np.bincount(inst.forced_p, minlength=n_p)
    for p in np.flatnonzero(forced_per_p > k):
        reasons.append(
            InfeasibilityReason(
                "forced_over_k",
                f"proposal {inst.proposals[p]} has {forced_per_p[p]} forced reviewers "
                f"but takes only {k}",
                proposal=inst.proposals[p],
            )
        )
    forced_per_r = np.bincount(inst.forced_r, minlength=n_r)
    for r in np.flatnonzero(forced_per_r > inst.max_load):
        reasons.append(
            InfeasibilityReason(
                "forced_over_capacity",
                f"reviewer {inst.reviewers[r]} is forced on {forced_per_r[r]} proposals "
                f"but has a maximum load of {inst.max_load[r]}",
                reviewer=inst.reviewers[r],
            )
        )
    usable = inst.max_load > 0
    conflict_p = inst.conflict_keys // max(n_r, 1)
    conflict_r = inst.conflict_keys % max(n_r, 1)
    blocked = np.bincount(conflict_p[usable[conflict_r]], minlength=n_p)
    allowed = int(usable.sum()) - blocked
    for p in np.flatnonzero(allowed < k):
        conflicted = [inst.reviewers[r] for r in conflict_r[(conflict_p == p) & usable[conflict_r]]]
        listed = ", ".join(conflicted[:10]) + (" ..." if len(conflicted) > 10 else "")
        reasons.append(
            InfeasibilityReason(
                "too_few_reviewers",
                f"proposal {inst.proposals[p]} has only {allowed[p]} reviewers without a conflict "
                f"of interest ({k} needed); conflicted: {listed or 'none'}",
                proposal=inst.proposals[p],
            )
        )
    demand = k * n_p
    if int(inst.max_load.sum()) < demand:
        reasons.append(
            InfeasibilityReason(
                "capacity_shortfall",
                f"reviewers can take {int(inst.max_load.sum())} reviews in total but "
                f"{n_p} proposals x {k} reviewers need {demand}",
            )
        )
    if int(inst.min_load.sum()) > demand:
        reasons.append(
            InfeasibilityReason(
                "min_load",
                f"minimum loads add up to {int(inst.min_load.sum())} reviews but only {demand} "
                "are needed",
            )
        )
    reachable = n_p - np.bincount(conflict_r, minlength=n_r)
    for r in np.flatnonzero(
        (inst.min_load > np.minimum(reachable, inst.max_load)) | (inst.min_load > inst.max_load)
    ):
        reasons.append(
            InfeasibilityReason(
                "min_load",
                f"reviewer {inst.reviewers[r]} must take {inst.min_load[r]} proposals but can "
                f"take at most {min(int(reachable[r]), int(inst.max_load[r]))}",
                reviewer=inst.reviewers[r],
            )
        )
    return reasons


def _candidate_pairs(inst: _Instance, top_n: int, filler_rounds: int) -> np.ndarray:
    """Keys of the pairs handed to the LP: best affinities, fillers and forced pairs."""
    n_p = inst.n_p
    order = np.lexsort((-inst.aff_v, inst.aff_p))
    sorted_p = inst.aff_p[order]
    starts = np.searchsorted(sorted_p, sorted_p, side="left")
    rank = np.arange(len(sorted_p)) - starts
    top = order[rank < top_n]
    parts = [inst.keys(inst.aff_p[top], inst.aff_r[top]), inst.keys(inst.forced_p, inst.forced_r)]
    # Round-robin slots over reviewer capacity: consecutive slots hold distinct reviewers, so the
    # first k slots given to each proposal already form a (nearly) feasible assignment that also
    # spreads load evenly, which covers minimum loads.
    levels = np.arange(int(inst.max_load.max(initial=0)))
    if len(levels) and n_p:
        _, slot_rev = np.nonzero(levels[:, None] < inst.max_load[None, :])
        n_slots = len(slot_rev)
        stride = n_slots / n_p
        width = int(np.ceil(stride)) * filler_rounds + inst.k * filler_rounds
        base = np.floor(np.arange(n_p) * stride).astype(np.int64)
        pos = (base[:, None] + np.arange(width)[None, :]) % n_slots
        filler_p = np.repeat(np.arange(n_p), width)
        parts.append(inst.keys(filler_p, slot_rev[pos.ravel()]))
    keys = np.unique(np.concatenate(parts))
    return keys[~_contains(inst.conflict_keys, keys)]


def _affinity_of(inst: _Instance, keys: np.ndarray) -> np.ndarray:
    aff_keys = inst.keys(inst.aff_p, inst.aff_r)
    out = np.zeros(len(keys))
    if len(aff_keys):
        pos = np.searchsorted(aff_keys, keys)
        pos[pos == len(aff_keys)] = 0
        hit = aff_keys[pos] == keys
        out[hit] = inst.aff_v[pos[hit]]
    return out


@dataclass
class _LPSolution:
    status: int
    x: np.ndarray
    objective: float
    lam: np.ndarray
    rev_dual: np.ndarray
    sigma: np.ndarray


def _matrices(inst: _Instance, cp: np.ndarray, cr: np.ndarray, ca: np.ndarray, with_floor: bool):
    n = len(cp)
    cols = np.arange(n)
    eq = sparse.csr_matrix((np.ones(n), (cp, cols)), shape=(inst.n_p, n))
    rev = sparse.csr_matrix((np.ones(n), (cr, cols)), shape=(inst.n_r, n))
    blocks = [rev, -rev]
    if with_floor:
        blocks.append(sparse.csr_matrix((-ca, (cp, cols)), shape=(inst.n_p, n)))
    return eq, sparse.vstack(blocks, format="csr")


def _solve_lp(
    inst: _Instance, keys: np.ndarray, mode: str, floor: float, time_limit: float
) -> _LPSolution:
    """Solve the LP on candidate ``keys``; ``mode`` is "total", "floor" or "total_with_floor"."""
    n_r, n_p = inst.n_r, inst.n_p
    cp, cr = keys // n_r, keys % n_r
    ca = _affinity_of(inst, keys)
    lower = _contains(np.sort(inst.keys(inst.forced_p, inst.forced_r)), keys).astype(float)
    eq, ub = _matrices(inst, cp, cr, ca, mode != "total")
    b_ub = [inst.max_load, -inst.min_load]
    bounds = np.column_stack([lower, np.ones(len(keys))])
    if mode == "floor":
        c = np.concatenate([np.zeros(len(keys)), [-1.0]])
        t_col = np.concatenate([np.zeros(2 * n_r), np.ones(n_p)])
        ub = sparse.hstack([ub, sparse.csr_matrix(t_col[:, None])], format="csr")
        eq = sparse.hstack([eq, sparse.csr_matrix((n_p, 1))], format="csr")
        b_ub.append(np.zeros(n_p))
        bounds = np.vstack([bounds, [-np.inf, np.inf]])
    else:
        c = -ca
        if mode == "total_with_floor":
            b_ub.append(np.full(n_p, -floor))
    res = linprog(
        c,
        A_ub=ub,
        b_ub=np.concatenate(b_ub).astype(float),
        A_eq=eq,
        b_eq=np.full(n_p, float(inst.k)),
        bounds=bounds,
        # Interior point with crossover beats dual simplex on these degenerate transportation LPs
        # and still ends at a vertex, which integrality needs.
        method="highs-ipm",
        options={"time_limit": max(time_limit, 0.1)},
    )
    if res.status != 0:
        return _LPSolution(res.status, np.zeros(0), 0.0, np.zeros(0), np.zeros(0), np.zeros(0))
    marg = res.ineqlin.marginals
    sigma = marg[2 * n_r :] if mode != "total" else np.zeros(n_p)
    return _LPSolution(
        0,
        res.x[: len(keys)],
        -res.fun,
        res.eqlin.marginals,
        marg[:n_r] - marg[n_r : 2 * n_r],
        sigma,
    )


def _price(inst: _Instance, keys: np.ndarray, sol: _LPSolution, affinity_weight: float):
    """Keys of excluded pairs with a negative reduced cost (empty: the LP optimum is global).

    Reduced cost of pair (p, r) is a*(sigma_p - w) - lambda_p - y_r with w the objective weight of
    affinity; sigma_p - w <= 0, so a zero-affinity price is never below the one with affinity.
    """
    n_r = inst.n_r
    excluded = np.concatenate([keys, inst.conflict_keys])
    excluded.sort()
    aff_keys = inst.keys(inst.aff_p, inst.aff_r)
    out_mask = ~_contains(excluded, aff_keys)
    ap, ar, av = inst.aff_p[out_mask], inst.aff_r[out_mask], inst.aff_v[out_mask]
    rc = av * (sol.sigma[ap] - affinity_weight) - sol.lam[ap] - sol.rev_dual[ar]
    violating = [aff_keys[out_mask][rc < -_DUAL_TOL]]

    by_dual = np.argsort(-sol.rev_dual, kind="stable")
    suspects = np.flatnonzero(-sol.lam - sol.rev_dual[by_dual[0]] < -_DUAL_TOL)
    if len(suspects):
        per_p = np.bincount(excluded // n_r, minlength=inst.n_p)
        width = min(int(per_p[suspects].max()) + 1, n_r)
        top = by_dual[:width]
        probe = suspects[:, None].astype(np.int64) * n_r + top[None, :]
        free = ~_contains(excluded, probe.ravel()).reshape(probe.shape)
        has_free = free.any(axis=1)
        first = np.argmax(free, axis=1)
        cand_r = top[first]
        rc0 = -sol.lam[suspects] - sol.rev_dual[cand_r]
        hit = has_free & (rc0 < -_DUAL_TOL)
        violating.append(suspects[hit].astype(np.int64) * n_r + cand_r[hit])
    return np.unique(np.concatenate(violating))


def _column_generation(
    inst: _Instance, keys: np.ndarray, mode: str, floor: float, deadline: float
) -> tuple[_LPSolution, np.ndarray, int, bool]:
    weight = 0.0 if mode == "floor" else 1.0
    rounds = 0
    while True:
        rounds += 1
        sol = _solve_lp(inst, keys, mode, floor, deadline - time.perf_counter())
        if sol.status != 0:
            return sol, keys, rounds, False
        new = _price(inst, keys, sol, weight)
        if len(new) == 0:
            return sol, keys, rounds, True
        if rounds >= _MAX_PRICING_ROUNDS or time.perf_counter() > deadline:
            return sol, keys, rounds, False
        keys = np.union1d(keys, new)


def _integral_solve(
    inst: _Instance, keys: np.ndarray, mode: str, floor: float, time_limit: float
) -> tuple[np.ndarray | None, float, bool]:
    """MILP on the candidate pairs; returns (x, objective, solved to optimality)."""
    n_r, n_p, n = inst.n_r, inst.n_p, len(keys)
    cp, cr = keys // n_r, keys % n_r
    ca = _affinity_of(inst, keys)
    lower = _contains(np.sort(inst.keys(inst.forced_p, inst.forced_r)), keys).astype(float)
    eq, ub = _matrices(inst, cp, cr, ca, mode != "total")
    ub_hi = [inst.max_load, -inst.min_load]
    lo = np.concatenate([lower, [-np.inf]]) if mode == "floor" else lower
    hi = np.ones(len(lo))
    if mode == "floor":
        c = np.concatenate([np.zeros(n), [-1.0]])
        t_col = np.concatenate([np.zeros(2 * n_r), np.ones(n_p)])
        ub = sparse.hstack([ub, sparse.csr_matrix(t_col[:, None])], format="csr")
        eq = sparse.hstack([eq, sparse.csr_matrix((n_p, 1))], format="csr")
        ub_hi.append(np.zeros(n_p))
        hi[-1] = np.inf
        integrality = np.concatenate([np.ones(n), [0]])
    else:
        c = -ca
        if mode == "total_with_floor":
            ub_hi.append(np.full(n_p, -floor))
        integrality = np.ones(n)
    res = milp(
        c,
        constraints=[
            LinearConstraint(eq, inst.k, inst.k),
            LinearConstraint(ub, -np.inf, np.concatenate(ub_hi).astype(float)),
        ],
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"time_limit": max(time_limit, 0.1)},
    )
    if res.x is None:
        return None, 0.0, False
    return np.round(res.x[:n]), -res.fun, res.status == 0


def _deficit_reasons(inst: _Instance, keys: np.ndarray) -> list[InfeasibilityReason]:
    """Explain an infeasible full LP by the smallest total shortfall of reviews and min loads."""
    n_r, n_p, n = inst.n_r, inst.n_p, len(keys)
    cp, cr = keys // n_r, keys % n_r
    lower = _contains(np.sort(inst.keys(inst.forced_p, inst.forced_r)), keys).astype(float)
    eq, ub = _matrices(inst, cp, cr, np.zeros(n), False)
    eq = sparse.hstack([eq, sparse.identity(n_p), sparse.csr_matrix((n_p, n_r))], format="csr")
    ub = sparse.hstack(
        [
            ub,
            sparse.csr_matrix((2 * n_r, n_p)),
            sparse.vstack([sparse.csr_matrix((n_r, n_r)), -sparse.identity(n_r)]),
        ],
        format="csr",
    )
    c = np.concatenate([np.zeros(n), np.ones(n_p + n_r)])
    bounds = np.column_stack(
        [
            np.concatenate([lower, np.zeros(n_p + n_r)]),
            np.concatenate([np.ones(n), np.full(n_p + n_r, np.inf)]),
        ]
    )
    res = linprog(
        c,
        A_ub=ub,
        b_ub=np.concatenate([inst.max_load, -inst.min_load]).astype(float),
        A_eq=eq,
        b_eq=np.full(n_p, float(inst.k)),
        bounds=bounds,
        method="highs",
    )
    reasons = []
    if res.status != 0:
        return [InfeasibilityReason("forced_over_capacity", "forced pairs alone are infeasible")]
    short_p = res.x[n : n + n_p]
    short_r = res.x[n + n_p :]
    for p in np.flatnonzero(short_p > 0.5):
        reasons.append(
            InfeasibilityReason(
                "too_few_reviewers",
                f"proposal {inst.proposals[p]} can get only {inst.k - round(short_p[p])} of "
                f"{inst.k} reviewers: its unconflicted reviewers are needed by other proposals",
                proposal=inst.proposals[p],
            )
        )
    for r in np.flatnonzero(short_r > 0.5):
        reasons.append(
            InfeasibilityReason(
                "min_load",
                f"reviewer {inst.reviewers[r]} can reach only "
                f"{inst.min_load[r] - round(short_r[r])} of a minimum load of {inst.min_load[r]}",
                reviewer=inst.reviewers[r],
            )
        )
    return reasons


def _all_allowed(inst: _Instance) -> np.ndarray:
    keys = np.arange(inst.n_p * inst.n_r, dtype=np.int64)
    return keys[~_contains(inst.conflict_keys, keys)]


def _result(
    inst: _Instance,
    status: str,
    keys: np.ndarray,
    x: np.ndarray,
    bound: float | None,
    proven: bool,
    candidates: int,
    rounds: int,
    start: float,
) -> AssignmentResult:
    chosen = keys[x > 0.5]
    cp, cr = chosen // inst.n_r, chosen % inst.n_r
    aff = _affinity_of(inst, chosen)
    per_p = np.bincount(cp, weights=aff, minlength=inst.n_p)
    return AssignmentResult(
        status=status,
        pairs=tuple((inst.proposals[p], inst.reviewers[r]) for p, r in zip(cp, cr, strict=True)),
        total_affinity=float(aff.sum()),
        min_proposal_affinity=float(per_p.min()) if inst.n_p else 0.0,
        bound=bound,
        optimality_proven=proven,
        reasons=(),
        candidate_pairs=candidates,
        pricing_rounds=rounds,
        solve_seconds=time.perf_counter() - start,
    )


def _timed_out(keys, rounds, start, reasons) -> AssignmentResult:
    return AssignmentResult(
        status="time_limit",
        pairs=(),
        total_affinity=0.0,
        min_proposal_affinity=0.0,
        bound=None,
        optimality_proven=False,
        reasons=tuple(reasons),
        candidate_pairs=len(keys),
        pricing_rounds=rounds,
        solve_seconds=time.perf_counter() - start,
    )


def _infeasible(reasons, candidates, rounds, start) -> AssignmentResult:
    return AssignmentResult(
        status="infeasible",
        pairs=(),
        total_affinity=0.0,
        min_proposal_affinity=0.0,
        bound=None,
        optimality_proven=True,
        reasons=tuple(reasons),
        candidate_pairs=candidates,
        pricing_rounds=rounds,
        solve_seconds=time.perf_counter() - start,
    )


def solve_assignment(
    problem: AssignmentProblem,
    *,
    fairness: bool = False,
    top_n: int = 5,
    time_limit: float = 120.0,
) -> AssignmentResult:
    """Assign ``k`` reviewers per proposal maximising total affinity (or the fairness variant).

    ``status`` is "optimal" when ``optimality_proven`` holds, "feasible" when an assignment was
    found but not proven optimal, "infeasible" with ``reasons``, or "time_limit".
    """
    start = time.perf_counter()
    deadline = start + time_limit
    inst = _build_instance(problem)
    reasons = _static_infeasibility(inst)
    if reasons:
        return _infeasible(reasons, 0, 0, start)
    if inst.n_p == 0:
        return _result(inst, "optimal", np.zeros(0, np.int64), np.zeros(0), 0.0, True, 0, 0, start)

    first_mode = "floor" if fairness else "total"
    keys = _candidate_pairs(inst, top_n, 1)
    total_rounds = 0
    # Grow the candidate set while the pruned LP is infeasible; the full allowed set settles it.
    for attempt in range(4):
        sol, keys, rounds, proven = _column_generation(inst, keys, first_mode, 0.0, deadline)
        total_rounds += rounds
        if sol.status != 2 or attempt == 3:
            break
        if attempt < 2:
            wider = _candidate_pairs(inst, top_n * 2 ** (attempt + 1), 4 << attempt)
            keys = np.union1d(keys, wider)
        elif inst.n_p * inst.n_r <= _FULL_PAIR_LIMIT:
            keys = _all_allowed(inst)
        else:
            break
    if sol.status == 2:
        if inst.n_p * inst.n_r <= _FULL_PAIR_LIMIT:
            return _infeasible(_deficit_reasons(inst, keys), len(keys), total_rounds, start)
        undetermined = InfeasibilityReason(
            "undetermined",
            "no feasible candidate set was found and the instance is too large to test the "
            "full pair set",
        )
        return _timed_out(keys, total_rounds, start, (undetermined,))
    if sol.status != 0:
        return _timed_out(keys, total_rounds, start, ())

    if not fairness:
        x = sol.x
        if np.max(np.abs(x - np.round(x)), initial=0.0) > _INT_TOL:
            left = deadline - time.perf_counter()
            x, obj, solved = _integral_solve(inst, keys, "total", 0.0, left)
            if x is None:
                return _timed_out(keys, total_rounds, start, ())
            proven = proven and solved and obj >= sol.objective - _DUAL_TOL
        status = "optimal" if proven else "feasible"
        bound = sol.objective if proven else None
        return _result(
            inst, status, keys, np.round(x), bound, proven, len(keys), total_rounds, start
        )

    floor_bound, floor_proven = sol.objective, proven
    left = deadline - time.perf_counter()
    x_floor, floor_int, solved = _integral_solve(inst, keys, "floor", 0.0, left)
    if x_floor is None:
        return _timed_out(keys, total_rounds, start, ())
    floor_keys = keys
    floor_proven = floor_proven and solved and floor_int >= floor_bound - _DUAL_TOL
    # The floor is relaxed by a hair so that rounding in the MILP cannot make the second step
    # infeasible.
    floor = floor_int - 1e-9
    sol2, keys, rounds, proven2 = _column_generation(
        inst, keys, "total_with_floor", floor, deadline
    )
    total_rounds += rounds
    left = deadline - time.perf_counter()
    x_total, total_int, solved2 = _integral_solve(inst, keys, "total_with_floor", floor, left)
    if x_total is None:
        return _result(
            inst, "feasible", floor_keys, x_floor, None, False, len(keys), total_rounds, start
        )
    proven = (
        floor_proven
        and sol2.status == 0
        and proven2
        and solved2
        and total_int >= sol2.objective - _DUAL_TOL
    )
    bound = sol2.objective if sol2.status == 0 else None
    status = "optimal" if proven else "feasible"
    return _result(inst, status, keys, x_total, bound, proven, len(keys), total_rounds, start)
