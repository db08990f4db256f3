"""Reviewer assignment as a min-cost flow (OR-Tools), with pruning proven lossless.

Each proposal needs exactly ``k`` reviewers, each reviewer takes between ``min_load`` and
``max_load`` proposals, conflicted pairs are excluded and forced pairs are fixed. Proposals supply
their open slots, pair arcs (capacity 1, cost minus the scaled affinity) lead to reviewers, which
must absorb their minimum load and may pass up to their maximum on to the sink. Integer costs make
the flow exact: affinities are scaled by the smallest power of ten that makes them all integers
(at most 10^9, less if int64 would overflow on a huge instance) and otherwise rounded. The optimum
found is then the exact optimum of the rounded affinities, and the exact optimum is at most
``(pairs assigned) x (largest rounding error)`` higher; ``bound`` adds that error, which is zero
for affinities with at most nine decimals.

The complete pair set (10,000 x 3,000 = 30M arcs) is pruned to candidate pairs: the best
affinities of each proposal plus round-robin fillers that alone nearly form a feasible assignment.
Afterwards distances to the sink in the residual graph give node potentials; an excluded pair whose
reduced cost is non-negative could not improve the flow, so if none is negative the pruned optimum
is optimal for the full pair set. Otherwise the violating pairs are added and the flow re-solved.
Zero-affinity pairs are priced per proposal against the reviewers with the smallest potential, so
the 30M pairs are never enumerated.

When the candidate pairs admit no assignment, shortfall arcs with a penalty larger than any total
affinity make the network feasible: if the optimum still uses them, the instance is infeasible
(the reduced-cost check makes this a proof for the full pair set too) and the shortfall names the
proposals and reviewers that cannot be served.

The fairness variant first maximises the smallest per-proposal affinity (auxiliary variable ``t``),
then fixes that floor and maximises the total. Per-proposal floors are not flow constraints, so
both steps are LPs priced by column generation and finished as MILPs with HiGHS, on candidate
pairs that include the flow's assignment (which keeps them feasible); optimality is proven only
when the integer optimum reaches the priced-out LP bound of the full problem.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

_DUAL_TOL = 1e-6
_INT_TOL = 1e-6
_MAX_PRICING_ROUNDS = 30
# Relative gap between the exact optimum's bound and the assignment below which rounding the
# affinities to integers is taken as not having changed the optimum.
_ROUNDING_TOL = 1e-9


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
        # One flat list of integer keys converts to numpy far faster than a list of tuples.
        try:
            keys = np.array([p_index[p] * n_r + r_index[r] for p, r in pairs], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"unknown id in pair: {exc}") from None
        return keys // max(n_r, 1), keys % max(n_r, 1)

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
    if not np.all(keys[1:] > keys[:-1]):
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
    """Keys of the first pairs to solve on: best affinities, fillers and forced pairs."""
    n_p = inst.n_p
    # One float sort key (proposal first, then affinity descending) sorts much faster than a
    # lexsort; ties between nearly equal affinities only change which pairs start as candidates.
    v_top = float(inst.aff_v.max(initial=1.0)) * (1 + 1e-9)
    order = np.argsort(inst.aff_p - 0.5 * inst.aff_v / v_top)
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
class _Flow:
    """Optimal flow on candidate pairs, with potentials that certify it on the residual graph."""

    keys: np.ndarray
    chosen: np.ndarray
    short_p: np.ndarray
    short_r: np.ndarray
    potential: np.ndarray
    cost: int


def _cost_scale(inst: _Instance, demand: int) -> tuple[float, int]:
    """Integer cost per unit of affinity and the shortfall penalty.

    The scale is the smallest power of ten at which every affinity is an integer (a small cost
    range speeds up cost scaling), else the largest up to 10^9 that keeps costs, the penalty and
    the solver's internal multiplication by the node count well inside int64. The penalty exceeds
    any total affinity, so a shortfall is only used when unavoidable.
    """
    aff = inst.aff_v
    a_max = float(aff.max(initial=0.0))
    nodes = inst.n_p + inst.n_r + 2
    room = 2.0**60 / (nodes * (demand + 2) * 4)
    top = 9 if a_max == 0 else min(9, int(np.floor(np.log10(room / a_max))))
    scale = 10.0**top
    for digits in range(top + 1):
        if np.array_equal(np.round(aff * 10.0**digits) / 10.0**digits, aff):
            scale = 10.0**digits
            break
    return scale, round(a_max * scale) * (demand + 1) + 1


def _distances_to_sink(n: int, sink: int, tail, head, cost) -> np.ndarray:
    """Shortest distance from every node to ``sink`` (Bellman-Ford, one vectorised pass a round).

    Nodes that cannot reach the sink get a large finite distance: as if every node had an arc of
    that cost to a virtual sink, which keeps the distances valid potentials everywhere.
    """
    order = np.argsort(tail, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    starts = np.flatnonzero(np.r_[True, tail[1:] != tail[:-1]])
    nodes = tail[starts]
    h = np.full(n, 2**62, dtype=np.int64)
    h[sink] = 0
    for _ in range(n + 1):
        best = np.minimum.reduceat(cost + h[head], starts)
        better = best < h[nodes]
        if not better.any():
            return h
        h[nodes[better]] = best[better]
    raise RuntimeError("negative cycle in the residual graph of an optimal flow")


def _solve_flow(
    inst: _Instance, keys: np.ndarray, scale: float, penalty: int | None
) -> _Flow | None:
    """Min-cost flow on ``keys``: proposals supply their open slots, reviewers absorb loads.

    With a ``penalty``, shortfall arcs (proposal to sink, sink to reviewer) keep the network
    feasible, so an infeasible instance comes back as the least total shortfall instead of a bare
    refusal. Without one they get no capacity (they slow the solver down) and None means the
    candidate pairs admit no assignment.
    """
    n_p, n_r = inst.n_p, inst.n_r
    sink = n_p + n_r
    forced_p = np.bincount(inst.forced_p, minlength=n_p)
    forced_r = np.bincount(inst.forced_r, minlength=n_r)
    need = inst.k - forced_p
    hi = inst.max_load - forced_r
    lo = np.maximum(inst.min_load - forced_r, 0)
    kp, kr = keys // n_r, keys % n_r
    pair_cost = -np.round(_affinity_of(inst, keys) * scale).astype(np.int64)
    p_idx, r_idx = np.arange(n_p, dtype=np.int64), np.arange(n_r, dtype=np.int64)
    tail = np.concatenate([kp, n_p + r_idx, p_idx, np.full(n_r, sink)])
    head = np.concatenate([n_p + kr, np.full(n_r, sink), np.full(n_p, sink), n_p + r_idx])
    slack = 0 if penalty is None else 1
    cap = np.concatenate([np.ones(len(keys), np.int64), hi - lo, slack * need, slack * lo])
    cost = np.concatenate([pair_cost, np.zeros(n_r, np.int64), np.full(n_p + n_r, penalty or 0)])
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tail, head, cap, cost)
    supply = np.concatenate([need, -lo, [int(lo.sum()) - int(need.sum())]])
    mcf.set_nodes_supplies(np.arange(sink + 1), supply)
    status = mcf.solve()
    if status == mcf.INFEASIBLE and penalty is None:
        return None
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flow = mcf.flows(np.arange(len(tail)))
    fwd, back = flow < cap, flow > 0
    potential = _distances_to_sink(
        sink + 1,
        sink,
        np.concatenate([tail[fwd], head[back]]),
        np.concatenate([head[fwd], tail[back]]),
        np.concatenate([cost[fwd], -cost[back]]),
    )
    n = len(keys)
    return _Flow(
        keys=keys,
        chosen=flow[:n] > 0,
        short_p=flow[n + n_r : n + n_r + n_p],
        short_r=flow[n + n_r + n_p :],
        potential=potential,
        cost=int(mcf.optimal_cost()),
    )


def _flow_violations(inst: _Instance, flow: _Flow, scale: float, per_proposal: int) -> np.ndarray:
    """Keys of pairs outside the flow's candidates whose reduced cost is negative.

    An excluded pair (p, r) of cost c is harmless when h(p) <= c + h(r), h being the distance to
    the sink in the residual graph. Pairs with affinity are checked one by one; for the others
    (cost 0, millions of them) it suffices to test, per proposal, the excluded reviewer with the
    smallest h, found by scanning reviewers in order of h.
    """
    n_p, n_r = inst.n_p, inst.n_r
    h_p, h_r = flow.potential[:n_p], flow.potential[n_p : n_p + n_r]
    open_p = np.bincount(inst.forced_p, minlength=n_p) < inst.k
    excluded = np.concatenate(
        [flow.keys, inst.conflict_keys, inst.keys(inst.forced_p, inst.forced_r)]
    )
    excluded.sort()
    ap, ar = inst.aff_p, inst.aff_r
    cost = -np.round(inst.aff_v * scale).astype(np.int64)
    # Most pairs price out; only the few negative ones need the (slower) membership test.
    slack = cost + h_r[ar] - h_p[ap]
    negative = np.flatnonzero((slack < 0) & open_p[ap])
    neg_keys = inst.keys(ap[negative], ar[negative])
    fresh = ~_contains(excluded, neg_keys)
    negative, neg_keys = negative[fresh], neg_keys[fresh]
    # Poor first potentials can flag most pairs; the most negative few per proposal suffice
    # to move the flow, and the next round prices the rest again.
    order = np.argsort(ap[negative] - 0.5 * slack[negative] / slack[negative].min(initial=-1))
    sorted_p = ap[negative][order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_p, sorted_p, side="left")
    violating = [neg_keys[order[rank < per_proposal]]]

    by_h = np.argsort(h_r, kind="stable")
    suspects = np.flatnonzero(open_p & (h_r[by_h[0]] < h_p))
    if len(suspects):
        per_p = np.bincount(excluded // n_r, minlength=n_p)
        width = min(int(per_p[suspects].max()) + 1, n_r)
        top = by_h[:width]
        probe = suspects[:, None].astype(np.int64) * n_r + top[None, :]
        free = ~_contains(excluded, probe.ravel()).reshape(probe.shape)
        first = np.argmax(free, axis=1)
        cand_r = top[first]
        hit = free.any(axis=1) & (h_r[cand_r] < h_p[suspects])
        violating.append(suspects[hit].astype(np.int64) * n_r + cand_r[hit])
    return np.unique(np.concatenate(violating))


@dataclass
class _LPSolution:
    status: int
    x: np.ndarray
    objective: float
    lam: np.ndarray
    rev_dual: np.ndarray
    sigma: np.ndarray


def _matrices(inst: _Instance, cp: np.ndarray, cr: np.ndarray, ca: np.ndarray):
    n = len(cp)
    cols = np.arange(n)
    eq = sparse.csr_matrix((np.ones(n), (cp, cols)), shape=(inst.n_p, n))
    rev = sparse.csr_matrix((np.ones(n), (cr, cols)), shape=(inst.n_r, n))
    floor = sparse.csr_matrix((-ca, (cp, cols)), shape=(inst.n_p, n))
    return eq, sparse.vstack([rev, -rev, floor], format="csr")


def _floor_model(inst: _Instance, keys: np.ndarray, mode: str, floor: float):
    """Objective, rows and bounds of the fairness models; ``mode`` is "floor" or "total"."""
    n_r, n_p = inst.n_r, inst.n_p
    cp, cr = keys // n_r, keys % n_r
    ca = _affinity_of(inst, keys)
    lower = _contains(np.sort(inst.keys(inst.forced_p, inst.forced_r)), keys).astype(float)
    eq, ub = _matrices(inst, cp, cr, ca)
    b_ub = [inst.max_load, -inst.min_load]
    lo, hi = lower, np.ones(len(keys))
    if mode == "floor":
        c = np.concatenate([np.zeros(len(keys)), [-1.0]])
        t_col = np.concatenate([np.zeros(2 * n_r), np.ones(n_p)])
        ub = sparse.hstack([ub, sparse.csr_matrix(t_col[:, None])], format="csr")
        eq = sparse.hstack([eq, sparse.csr_matrix((n_p, 1))], format="csr")
        b_ub.append(np.zeros(n_p))
        lo, hi = np.append(lo, -np.inf), np.append(hi, np.inf)
    else:
        c = -ca
        b_ub.append(np.full(n_p, -floor))
    return c, eq, ub, np.concatenate(b_ub).astype(float), lo, hi


def _solve_lp(
    inst: _Instance, keys: np.ndarray, mode: str, floor: float, time_limit: float
) -> _LPSolution:
    n_r = inst.n_r
    c, eq, ub, b_ub, lo, hi = _floor_model(inst, keys, mode, floor)
    res = linprog(
        c,
        A_ub=ub,
        b_ub=b_ub,
        A_eq=eq,
        b_eq=np.full(inst.n_p, float(inst.k)),
        bounds=np.column_stack([lo, hi]),
        # Interior point with crossover beats dual simplex on these degenerate transportation LPs
        # and still ends at a vertex.
        method="highs-ipm",
        options={"time_limit": max(time_limit, 0.1)},
    )
    if res.status != 0:
        return _LPSolution(res.status, np.zeros(0), 0.0, np.zeros(0), np.zeros(0), np.zeros(0))
    marg = res.ineqlin.marginals
    return _LPSolution(
        0,
        res.x[: len(keys)],
        -res.fun,
        res.eqlin.marginals,
        marg[:n_r] - marg[n_r : 2 * n_r],
        marg[2 * n_r :],
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
    n = len(keys)
    c, eq, ub, b_ub, lo, hi = _floor_model(inst, keys, mode, floor)
    integrality = np.ones(len(c))
    if mode == "floor":
        integrality[-1] = 0
    res = milp(
        c,
        constraints=[
            LinearConstraint(eq, inst.k, inst.k),
            LinearConstraint(ub, -np.inf, b_ub),
        ],
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"time_limit": max(time_limit, 0.1)},
    )
    if res.x is None:
        return None, 0.0, False
    return np.round(res.x[:n]), -res.fun, res.status == 0


def _fairness(
    inst: _Instance, keys: np.ndarray, rounds: int, deadline: float, start: float
) -> AssignmentResult:
    """Max-min affinity, then most total affinity at that floor; ``keys`` must be feasible."""
    sol, keys, more, floor_proven = _column_generation(inst, keys, "floor", 0.0, deadline)
    rounds += more
    if sol.status != 0:
        return _timed_out(keys, rounds, start, ())
    left = deadline - time.perf_counter()
    x_floor, floor_int, solved = _integral_solve(inst, keys, "floor", 0.0, left)
    if x_floor is None:
        return _timed_out(keys, rounds, start, ())
    floor_keys = keys
    floor_proven = floor_proven and solved and floor_int >= sol.objective - _DUAL_TOL
    # The floor is relaxed by a hair so that rounding in the MILP cannot make the second step
    # infeasible.
    floor = floor_int - 1e-9
    sol2, keys, more, proven2 = _column_generation(inst, keys, "total", floor, deadline)
    rounds += more
    left = deadline - time.perf_counter()
    x_total, total_int, solved2 = _integral_solve(inst, keys, "total", floor, left)
    if x_total is None:
        return _result(inst, "feasible", floor_keys, x_floor, None, False, len(keys), rounds, start)
    proven = (
        floor_proven
        and sol2.status == 0
        and proven2
        and solved2
        and total_int >= sol2.objective - _DUAL_TOL
    )
    bound = sol2.objective if sol2.status == 0 else None
    status = "optimal" if proven else "feasible"
    return _result(inst, status, keys, x_total, bound, proven, len(keys), rounds, start)


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


def _shortfall_reasons(inst: _Instance, flow: _Flow) -> list[InfeasibilityReason]:
    reasons = []
    for p in np.flatnonzero(flow.short_p > 0):
        reasons.append(
            InfeasibilityReason(
                "too_few_reviewers",
                f"proposal {inst.proposals[p]} can get only {inst.k - int(flow.short_p[p])} of "
                f"{inst.k} reviewers: its unconflicted reviewers are needed by other proposals",
                proposal=inst.proposals[p],
            )
        )
    for r in np.flatnonzero(flow.short_r > 0):
        reasons.append(
            InfeasibilityReason(
                "min_load",
                f"reviewer {inst.reviewers[r]} can reach only "
                f"{inst.min_load[r] - int(flow.short_r[r])} of a minimum load of "
                f"{inst.min_load[r]}",
                reviewer=inst.reviewers[r],
            )
        )
    return reasons


def solve_assignment(
    problem: AssignmentProblem,
    *,
    fairness: bool = False,
    top_n: int = 10,
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

    forced = np.sort(inst.keys(inst.forced_p, inst.forced_r))
    open_p = np.bincount(inst.forced_p, minlength=inst.n_p) < inst.k
    keys = _candidate_pairs(inst, top_n, 1)
    # A proposal whose slots are all forced cannot pass flow through any other pair.
    keys = keys[~_contains(forced, keys) & open_p[keys // inst.n_r]]
    demand = int(np.count_nonzero(open_p) * inst.k - len(forced))
    scale, penalty = _cost_scale(inst, demand)
    rounds, proven = 0, False
    while True:
        rounds += 1
        flow = _solve_flow(inst, keys, scale, None) or _solve_flow(inst, keys, scale, penalty)
        new = _flow_violations(inst, flow, scale, top_n)
        if len(new) == 0:
            proven = True
            break
        if time.perf_counter() > deadline:
            break
        keys = np.union1d(keys, new)

    if flow.short_p.any() or flow.short_r.any():
        if not proven:
            undetermined = InfeasibilityReason(
                "undetermined",
                "no feasible assignment was found on the candidate pairs before the time limit",
            )
            return _timed_out(keys, rounds, start, (undetermined,))
        return _infeasible(_shortfall_reasons(inst, flow), len(keys), rounds, start)

    chosen = np.concatenate([flow.keys[flow.chosen], forced])
    if fairness:
        return _fairness(inst, np.union1d(keys, chosen), rounds, deadline, start)
    aff = inst.aff_v
    error = float(np.abs(aff - np.round(aff * scale) / scale).max(initial=0.0))
    value = -flow.cost / scale + float(_affinity_of(inst, forced).sum())
    bound = value + error * int(flow.chosen.sum())
    total = float(_affinity_of(inst, chosen).sum())
    proven = proven and bound - total <= _ROUNDING_TOL * max(1.0, bound)
    status = "optimal" if proven else "feasible"
    ones = np.ones(len(chosen))
    return _result(inst, status, chosen, ones, bound, proven, len(keys), rounds, start)
