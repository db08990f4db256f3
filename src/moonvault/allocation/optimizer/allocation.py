"""Mass allocation for a release round, in three lexicographic stages.

Stage 1, the rank rule. Units are visited in rank order (an all-or-nothing proposal is one unit at
the position of its best-ranked request). A unit is funded at its minimum useful mass whenever
that is feasible together with every unit already funded; nothing funded is ever dropped. Because
dropping a unit from a feasible set keeps it feasible, this yields the lexicographically largest
funded set. Each decision is exact:

* a lower bound on the mass already committed proves budget and country-cap refusals outright;
* a first-fit into the mass still free proves feasibility without a solver;
* otherwise the connected component of the unit (requests linked through shared eligible sources)
  is re-solved as a MILP, with the other components' current usage charged against the budget
  and caps. If only the budget or a cap blocks and other components could still be rearranged to
  use less mass, the whole funded set is re-solved as one MILP. A MILP time-out makes the unit
  "undetermined" and is reported; it is never passed off as "does not fit".

Splits are modelled exactly: every portion costs the handling loss and must reach the minimum
split mass (see ``model`` for what is not enforced).

Stage 2 fixes the funded set and maximises rank-weighted delivered mass (weight 2 for the first
request falling linearly to 1 for the last), every funded request between its minimum and its
request. Stage 3 then minimises the number of portions while holding the stage-2 objective within
``STAGE3_TOLERANCE``. Both are MILPs solved by HiGHS under a time limit; the gap to HiGHS's proven
dual bound is reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint, milp
from scipy.sparse.csgraph import maximum_flow

from .model import (
    BELOW_MINIMUM,
    BUDGET,
    COUNTRY_CAP,
    FULL,
    PARTIAL,
    PARTNER_UNFUNDED,
    RESERVE,
    SOURCE_EXHAUSTED,
    UNDETERMINED,
    UNFUNDED,
    AllocationResult,
    Instance,
    Portion,
    RequestOutcome,
    Round,
    build_model,
    format_mass,
)

STAGE2_GAP = 1e-3
STAGE3_TOLERANCE = 1e-6
_FEASIBLE, _INFEASIBLE, _TIMEOUT = "feasible", "infeasible", "timeout"


def rank_units(inst: Instance) -> list[list[int]]:
    """Requests grouped into decision units, in rank order."""
    units: list[list[int]] = []
    by_proposal: dict[str, list[int]] = {}
    for r, req in enumerate(inst.requests):
        if req.all_or_nothing:
            if req.proposal_id in by_proposal:
                by_proposal[req.proposal_id].append(r)
                continue
            by_proposal[req.proposal_id] = [r]
            units.append(by_proposal[req.proposal_id])
        else:
            units.append([r])
    return units


@dataclass
class _Refusal:
    reason: str
    detail: str


class _RankRule:
    """Incremental state of stage 1: the funded set and one feasible allocation of it."""

    def __init__(self, inst: Instance, decision_time: float):
        self.inst = inst
        self.decision_time = decision_time
        self.alloc: dict[int, list[tuple[int, int]]] = {}
        self.used = np.zeros(len(inst.avail), dtype=np.int64)
        self.usage: dict[str, int] = dict.fromkeys(inst.countries, 0)
        self.lower: dict[str, int] = dict.fromkeys(inst.countries, 0)
        self.parent = np.arange(len(inst.avail))
        self.members: dict[int, set[int]] = {}
        self.milp_calls = 0

    # -- bookkeeping -------------------------------------------------------------------------

    def _root(self, s: int) -> int:
        while self.parent[s] != s:
            self.parent[s] = self.parent[self.parent[s]]
            s = self.parent[s]
        return int(s)

    def _charge(self, r: int, portions: list[tuple[int, int]], sign: int) -> None:
        req = self.inst.requests[r]
        for s, mass in portions:
            self.used[s] += sign * (mass if req.whole_unit else mass + self.inst.loss)
            self.usage[req.country] += sign * mass

    def _set(self, r: int, portions: list[tuple[int, int]]) -> None:
        if r in self.alloc:
            self._charge(r, self.alloc[r], -1)
        self.alloc[r] = portions
        self._charge(r, portions, 1)

    def _fund(self, unit: list[int], solution: dict[int, list[tuple[int, int]]]) -> None:
        for r, portions in solution.items():
            self._set(r, portions)
        for r in unit:
            self.lower[self.inst.requests[r].country] += self.inst.lower_mass(r)
        roots = {self._root(int(s)) for r in unit for s in self.inst.eligible[r]}
        merged = set(unit)
        for root in roots:
            merged |= self.members.pop(root, set())
        if not roots:
            return
        keep = min(roots)
        for root in roots:
            self.parent[root] = keep
        self.members[keep] = merged

    def _component(self, unit: list[int]) -> set[int]:
        roots = {self._root(int(s)) for r in unit for s in self.inst.eligible[r]}
        out: set[int] = set()
        for root in roots:
            out |= self.members.get(root, set())
        return out

    def _total(self, usage: dict[str, int]) -> int:
        return sum(usage.values())

    # -- feasibility tests -------------------------------------------------------------------

    def _fits_coupling(self, extra: dict[str, int], usage: dict[str, int]) -> bool:
        inst = self.inst
        if self._total(usage) + sum(extra.values()) > inst.budget:
            return False
        return all(usage[c] + extra.get(c, 0) <= cap for c, cap in inst.cap.items())

    def _first_fit(
        self, unit: list[int], fresh: bool = False, coupled: bool = True
    ) -> dict[int, list[tuple[int, int]]] | None:
        """A feasible placement of ``unit`` into the mass still free, if a simple one exists."""
        inst = self.inst
        used = np.zeros_like(self.used) if fresh else self.used
        free = inst.avail - used
        taken = used > 0
        extra: dict[str, int] = {}
        out: dict[int, list[tuple[int, int]]] = {}
        for r in unit:
            req = inst.requests[r]
            usable = inst.usable(r)
            if req.whole_unit:
                options = usable[~taken[usable]]
                if not len(options):
                    return None
                s = int(options[np.argmin(inst.avail[options])])
                out[r] = [(s, int(inst.avail[s]))]
                free[s] = 0
                taken[s] = True
                extra[req.country] = extra.get(req.country, 0) + int(inst.avail[s])
                continue
            got, portions = 0, []
            for s in usable[np.argsort(-free[usable], kind="stable")]:
                room = int(free[s]) - inst.loss
                take = min(
                    max(req.minimum_mass - got, inst.min_split), room, req.requested_mass - got
                )
                if got >= req.minimum_mass or take < inst.min_split:
                    break
                portions.append((int(s), take))
                free[s] -= take + inst.loss
                taken[s] = True
                got += take
            if got < req.minimum_mass:
                return None
            out[r] = portions
            extra[req.country] = extra.get(req.country, 0) + sum(m for _, m in portions)
        if coupled and not self._fits_coupling(extra, self.usage):
            return None
        return out

    def _solve(
        self, reqs: list[int], budget: int | None, caps: dict[str, int] | None, objective: str
    ) -> tuple[str, dict[int, list[tuple[int, int]]] | None]:
        inst = self.inst
        lower = {r: inst.requests[r].minimum_mass for r in reqs}
        model = build_model(inst, reqs, lower, budget, caps, objective)
        self.milp_calls += 1
        # Any feasible allocation decides the unit; the mass objective only needs to be good.
        res = model.solve(self.decision_time, gap=0.05)
        if res.x is None:
            return (_INFEASIBLE if res.status == 2 else _TIMEOUT), None
        solution = model.portions(res.x)
        for r, portions in solution.items():
            solution[r] = [(s, int(inst.avail[s]) if m < 0 else m) for s, m in portions]
        return _FEASIBLE, solution

    def _residual_coupling(self, comp: set[int]) -> tuple[int, dict[str, int]]:
        mine = dict.fromkeys(self.inst.countries, 0)
        for r in comp:
            mine[self.inst.requests[r].country] += sum(m for _, m in self.alloc[r])
        other = {c: self.usage[c] - mine[c] for c in self.usage}
        budget = self.inst.budget - self._total(other)
        caps = {c: cap - other[c] for c, cap in self.inst.cap.items()}
        return budget, caps

    def _alone_feasible(self, unit: list[int]) -> bool:
        if self._first_fit(unit, fresh=True, coupled=False) is not None:
            return True
        if self._relaxation_infeasible(unit):
            return False
        status, _ = self._solve(unit, None, None, "none")
        return status != _INFEASIBLE

    def _relaxation_infeasible(self, reqs: list[int]) -> bool:
        """Max-flow test of a relaxation on fresh sources; True proves the set infeasible.

        Relaxed: portions may be any size, handling loss only caps each portion, and a whole unit
        needs only the mass of its smallest eligible sample, from any of them.
        """
        inst = self.inst
        demand, pair_r, pair_s, pair_cap = [], [], [], []
        for i, r in enumerate(reqs):
            req = inst.requests[r]
            usable = inst.usable(r)
            demand.append(inst.lower_mass(r) if req.whole_unit or len(usable) else 1)
            pair_r.append(np.full(len(usable), i))
            pair_s.append(usable)
            if req.whole_unit:
                pair_cap.append(inst.avail[usable])
            else:
                pair_cap.append(np.minimum(inst.avail[usable] - inst.loss, req.requested_mass))
        pair_r, pair_s = np.concatenate(pair_r), np.concatenate(pair_s)
        pair_cap = np.concatenate(pair_cap)
        srcs, s_node = np.unique(pair_s, return_inverse=True)
        n_req = len(reqs)
        src_cap = inst.avail[srcs]
        demand = np.array(demand, dtype=np.int64)
        if max(demand.sum(), src_cap.sum(), 0) >= np.iinfo(np.int32).max:
            return False
        n_nodes = 2 + n_req + len(srcs)
        tail = np.concatenate(
            [np.zeros(n_req, np.int64), 2 + pair_r, 2 + n_req + np.arange(len(srcs))]
        )
        head = np.concatenate(
            [2 + np.arange(n_req), 2 + n_req + s_node, np.ones(len(srcs), np.int64)]
        )
        cap = np.concatenate([demand, pair_cap, src_cap]).astype(np.int32)
        graph = sparse.csr_matrix((cap, (tail, head)), shape=(n_nodes, n_nodes))
        return maximum_flow(graph, 0, 1).flow_value < demand.sum()

    def decide(self, unit: list[int]) -> tuple[str, _Refusal | None]:
        """Fund ``unit`` if feasible with everything already funded; returns (state, refusal)."""
        inst = self.inst
        extra_lower: dict[str, int] = {}
        for r in unit:
            c = inst.requests[r].country
            extra_lower[c] = extra_lower.get(c, 0) + inst.lower_mass(r)
        refusal = self._lower_bound_refusal(extra_lower)
        if refusal is not None:
            if not self._alone_feasible(unit):
                return UNFUNDED, self._source_refusal(unit, alone=True)
            return UNFUNDED, refusal
        fit = self._first_fit(unit)
        if fit is not None:
            self._fund(unit, fit)
            return FULL, None
        comp = self._component(unit)
        reqs = sorted(comp | set(unit))
        if self._relaxation_infeasible(reqs):
            alone = not self._alone_feasible(unit)
            return UNFUNDED, self._source_refusal(unit, alone=alone)
        budget, caps = self._residual_coupling(comp)
        status, solution = self._solve(reqs, budget, caps, "mass")
        if status == _FEASIBLE:
            self._fund(unit, solution)
            return FULL, None
        if status == _TIMEOUT:
            return UNFUNDED, _Refusal(UNDETERMINED, "")
        if not self._alone_feasible(unit):
            return UNFUNDED, self._source_refusal(unit, alone=True)
        if self._first_fit(unit, coupled=False) is not None:
            status = _FEASIBLE
        else:
            status, _ = self._solve(reqs, None, None, "none")
        if status == _INFEASIBLE:
            return UNFUNDED, self._source_refusal(unit, alone=False)
        if status == _TIMEOUT:
            return UNFUNDED, _Refusal(UNDETERMINED, "")
        return self._coupling_decision(unit, comp, reqs, extra_lower)

    def _coupling_decision(
        self, unit: list[int], comp: set[int], reqs: list[int], extra_lower: dict[str, int]
    ) -> tuple[str, _Refusal | None]:
        """The sources could take the unit; the budget or a country cap is in the way."""
        inst = self.inst
        if any(self.usage[c] != self.lower[c] for c in inst.countries):
            # Other components hold more than their least possible mass; only a joint solve of
            # every funded request can tell whether they can make room.
            everyone = sorted(set(self.alloc) | set(unit))
            status, solution = self._solve(everyone, inst.budget, dict(inst.cap), "mass")
            if status == _FEASIBLE:
                self._fund(unit, solution)
                return FULL, None
            if status == _TIMEOUT:
                return UNFUNDED, _Refusal(UNDETERMINED, "")
            reqs = everyone
            budget = inst.budget
        else:
            budget, _ = self._residual_coupling(comp)
        status, _ = self._solve(reqs, budget, None, "none")
        if status == _FEASIBLE:
            return UNFUNDED, self._cap_refusal(extra_lower)
        return UNFUNDED, self._budget_refusal(extra_lower)

    # -- explanations ------------------------------------------------------------------------

    def _lower_bound_refusal(self, extra: dict[str, int]) -> _Refusal | None:
        if self._total(self.lower) + sum(extra.values()) > self.inst.budget:
            return self._budget_refusal(extra)
        for c, amount in extra.items():
            if c in self.inst.cap and self.lower[c] + amount > self.inst.cap[c]:
                return self._cap_refusal(extra)
        return None

    def _budget_refusal(self, extra: dict[str, int]) -> _Refusal:
        left = self.inst.budget - self._total(self.lower)
        need = sum(extra.values())
        return _Refusal(
            BUDGET,
            f"the release budget had at most {format_mass(max(left, 0))} left for its minimum of "
            f"{format_mass(need)}",
        )

    def _cap_refusal(self, extra: dict[str, int]) -> _Refusal:
        inst = self.inst
        for c, amount in extra.items():
            if c in inst.cap and self.lower[c] + amount > inst.cap[c]:
                left = inst.cap[c] - self.lower[c]
                return _Refusal(
                    COUNTRY_CAP,
                    f"the share cap of {c} ({format_mass(inst.cap[c])}) had at most "
                    f"{format_mass(max(left, 0))} left for its minimum of {format_mass(amount)}",
                )
        capped = ", ".join(c for c in extra if c in inst.cap)
        return _Refusal(
            COUNTRY_CAP,
            f"the budget and the share cap of {capped} cannot both hold with it funded",
        )

    def _source_refusal(self, unit: list[int], alone: bool) -> _Refusal:
        inst = self.inst
        needs = sum(inst.lower_mass(r) for r in unit if not inst.requests[r].whole_unit)
        srcs = np.unique(np.concatenate([inst.eligible[r] for r in unit]))
        groups = ", ".join(sorted({inst.group[s] for s in srcs if inst.group[s]})) or "none"
        if any(inst.requests[r].whole_unit for r in unit):
            whole = [r for r in unit if inst.requests[r].whole_unit]
            usable = np.unique(np.concatenate([inst.usable(r) for r in whole]))
            if alone:
                return _Refusal(
                    RESERVE,
                    f"none of its {len(srcs)} eligible samples is available for release "
                    f"(groups: {groups})",
                )
            if not np.all(self.used[usable] > 0):
                return _Refusal(
                    BELOW_MINIMUM,
                    "its eligible samples are free but needed whole by higher-ranked requests",
                )
            return _Refusal(
                SOURCE_EXHAUSTED,
                f"all {len(usable)} of its eligible samples went to higher-ranked requests",
            )
        free = inst.avail[srcs] - (0 if alone else self.used[srcs]) - inst.loss
        room = int(free[free >= inst.min_split].sum())
        if alone:
            return _Refusal(
                RESERVE,
                f"the available mass of its eligible sources after reserve (groups: {groups}) was "
                f"{format_mass(max(needs - room, 0))} below its minimum of {format_mass(needs)}",
            )
        if room < needs:
            return _Refusal(
                SOURCE_EXHAUSTED,
                f"the remaining available mass of its eligible sources (groups: {groups}) was "
                f"{format_mass(needs - room)} below its minimum of {format_mass(needs)}",
            )
        return _Refusal(
            BELOW_MINIMUM,
            f"{format_mass(room)} remains in its eligible sources but cannot be cut into its "
            f"minimum of {format_mass(needs)} alongside higher-ranked requests, given the "
            "minimum split mass and handling loss",
        )


def _rank_weights(inst: Instance) -> dict[int, float]:
    n = len(inst.requests)
    return {r: 1.0 + (n - r) / n for r in range(n)}


def rank_weighted_mass(inst: Instance, alloc: dict[int, list[tuple[int, int]]]) -> float:
    """Stage-2 objective in rank-weighted grams."""
    weights = _rank_weights(inst)
    return 1e-6 * sum(
        weights[r] * sum(m for _, m in p)
        for r, p in alloc.items()
        if not inst.requests[r].whole_unit
    )


def _apply_solution(inst: Instance, model, x) -> dict[int, list[tuple[int, int]]]:
    solution = model.portions(x)
    for r, portions in solution.items():
        solution[r] = [(s, int(inst.avail[s]) if m < 0 else m) for s, m in portions]
    return solution


def _proven_bound(model, res, time_limit: float) -> float:
    """HiGHS's dual bound, or the LP relaxation's optimum when the MILP stopped without one."""
    if res.mip_dual_bound is not None and np.isfinite(res.mip_dual_bound):
        return float(-1e-6 * res.mip_dual_bound)
    relaxed = milp(
        model.c,
        constraints=model.constraints,
        bounds=model.bounds,
        options={"time_limit": max(0.2 * time_limit, 1.0)},
    )
    return float(-1e-6 * relaxed.fun) if relaxed.status == 0 else float("inf")


def _optimise_mass(
    inst: Instance,
    funded: list[int],
    start: dict[int, list[tuple[int, int]]],
    time_limit: float,
    notes: list[str],
) -> tuple[dict[int, list[tuple[int, int]]], float, float]:
    """Stages 2 and 3 on the funded set; returns (allocation, objective, bound)."""
    weights = _rank_weights(inst)

    def value(solution) -> float:
        return rank_weighted_mass(inst, solution)

    if not funded:
        return start, 0.0, 0.0
    deadline = time.perf_counter() + time_limit
    lower = {r: inst.requests[r].minimum_mass for r in funded}
    model = build_model(inst, funded, lower, inst.budget, dict(inst.cap), "weighted", weights)
    # Proving the last fraction of a percent can take minutes while HiGHS finds near-optimal
    # solutions early, so each stage gets a budget that grows with the funded set.
    stage_time = min(0.6 * time_limit, 1.0 + 0.005 * len(funded))
    res = model.solve(stage_time, gap=STAGE2_GAP)
    start_value = value(start)
    if res.x is None or -res.fun * 1e-6 < start_value:
        notes.append("stage 2 found no better solution than the rank-rule allocation in time")
        return start, start_value, _proven_bound(model, res, time_limit)
    best = _apply_solution(inst, model, res.x)
    objective = value(best)
    bound = _proven_bound(model, res, time_limit)
    if res.status != 0:
        notes.append("stage 2 stopped at its time limit")

    floor = float(model.weight_row @ res.x) * (1 - STAGE3_TOLERANCE)
    splits = build_model(inst, funded, lower, inst.budget, dict(inst.cap), "splits", weights)
    splits.constraints.append(LinearConstraint(splits.weight_row[None, :], floor, np.inf))
    left = min(deadline - time.perf_counter(), 0.5 * stage_time)
    res3 = splits.solve(left, gap=1e-2) if left > 0.2 else None
    if res3 is not None and res3.x is not None:
        if res3.status != 0:
            notes.append("stage 3 (fewer splits) stopped at its time limit")
        fewer = _apply_solution(inst, splits, res3.x)
        count = sum(len(p) for p in fewer.values())
        if count <= sum(len(p) for p in best.values()):
            best, objective = fewer, value(fewer)
    else:
        notes.append("stage 3 (fewer splits) did not finish; stage-2 allocation kept")
    return best, objective, max(bound, objective)


def _partial_reason(inst: Instance, r: int, alloc, used: np.ndarray, usage) -> _Refusal:
    req = inst.requests[r]
    short = format_mass(req.requested_mass - sum(m for _, m in alloc[r]))
    total = sum(usage.values())
    if total >= inst.budget:
        return _Refusal(BUDGET, f"the release budget is spent; {short} short of the request")
    if req.country in inst.cap and usage[req.country] >= inst.cap[req.country]:
        return _Refusal(COUNTRY_CAP, f"the share cap of {req.country} is reached; {short} short")
    free = inst.avail[inst.eligible[r]] - used[inst.eligible[r]]
    mine = {s for s, _ in alloc[r]}
    growable = any(
        f > 0 if int(s) in mine else f - inst.loss >= inst.min_split
        for s, f in zip(inst.eligible[r], free, strict=True)
    )
    if growable:
        return _Refusal(UNDETERMINED, f"the solver stopped before proving this cut; {short} short")
    if any(f > 0 for f in free):
        return _Refusal(
            BELOW_MINIMUM,
            f"what is left in its sources is below the minimum split mass; {short} short",
        )
    eligible = set(map(int, inst.eligible[r]))
    if any(q != r and {p for p, _ in alloc[q]} & eligible for q in alloc):
        return _Refusal(
            SOURCE_EXHAUSTED,
            f"its eligible sources are used up by this and higher-priority requests; {short} short",
        )
    return _Refusal(RESERVE, f"its eligible sources hold no more releasable mass; {short} short")


def _top_up(inst: Instance, alloc: dict[int, list[tuple[int, int]]]) -> None:
    """Grow existing portions into mass left free, best rank first; adds no split.

    Removes the slack a MILP may leave inside its relative gap; it only raises stage 2's objective.
    """
    used = np.zeros(len(inst.avail), dtype=np.int64)
    usage = dict.fromkeys(inst.countries, 0)
    for r, portions in alloc.items():
        whole = inst.requests[r].whole_unit
        for s, m in portions:
            used[s] += m if whole else m + inst.loss
            usage[inst.requests[r].country] += m
    for r in sorted(alloc):
        req = inst.requests[r]
        if req.whole_unit:
            continue
        grown = []
        for s, _ in alloc[r]:
            room = min(
                int(inst.avail[s] - used[s]),
                req.requested_mass - sum(mm for _, mm in alloc[r]) - sum(g for _, g in grown),
                inst.budget - sum(usage.values()),
                inst.cap.get(req.country, inst.budget) - usage[req.country],
            )
            add = max(room, 0)
            grown.append((s, add))
            used[s] += add
            usage[req.country] += add
        alloc[r] = [(s, m + g) for (s, m), (_, g) in zip(alloc[r], grown, strict=True)]


def solve_allocation(
    rnd: Round, *, time_limit: float = 300.0, decision_time_limit: float = 5.0
) -> AllocationResult:
    """Allocate a round: rank rule (stage 1), weighted mass (stage 2), fewest splits (stage 3)."""
    t0 = time.perf_counter()
    inst = Instance(rnd)
    n = len(inst.requests)
    state = _RankRule(inst, decision_time_limit)
    refusals: dict[int, _Refusal] = {}
    exact = True
    for unit in rank_units(inst):
        outcome, refusal = state.decide(unit)
        if outcome == FULL:
            continue
        exact = exact and refusal.reason != UNDETERMINED
        _record_unit_refusal(state, unit, refusal, refusals)

    notes: list[str] = []
    funded = sorted(state.alloc)
    left = time_limit - (time.perf_counter() - t0)
    alloc, objective, bound = _optimise_mass(inst, funded, dict(state.alloc), left, notes)
    _top_up(inst, alloc)
    objective = max(objective, rank_weighted_mass(inst, alloc))
    if not exact:
        notes.append("some rank-rule decisions hit the solver time limit (undetermined)")

    used = np.zeros(len(inst.avail), dtype=np.int64)
    usage = dict.fromkeys(inst.countries, 0)
    for r, portions in alloc.items():
        whole = inst.requests[r].whole_unit
        for s, m in portions:
            used[s] += m if whole else m + inst.loss
            usage[inst.requests[r].country] += m
    outcomes = []
    for r, req in enumerate(inst.requests):
        portions = tuple(Portion(inst.source_ids[s], m) for s, m in sorted(alloc.get(r, [])))
        mass = sum(p.mass for p in portions)
        prefix = f"ranked {r + 1} of {n}"
        if r in refusals:
            status, reason, text = UNFUNDED, refusals[r].reason, refusals[r].detail
        elif req.whole_unit or mass == req.requested_mass:
            status, reason, text = FULL, None, "funded in full"
        else:
            cut = _partial_reason(inst, r, alloc, used, usage)
            status, reason, text = PARTIAL, cut.reason, cut.detail
        outcomes.append(
            RequestOutcome(req.id, r + 1, portions, mass, status, reason, f"{prefix}; {text}")
        )
    divisible_portions = [len(p) for r, p in alloc.items() if not inst.requests[r].whole_unit]
    return AllocationResult(
        outcomes=tuple(outcomes),
        funded_requests=len(funded),
        funded_mass=sum(o.funded_mass for o in outcomes),
        splits=sum(divisible_portions),
        handling_loss_mass=sum(divisible_portions) * inst.loss,
        rank_rule_exact=exact,
        objective=objective,
        bound=bound,
        gap=(bound - objective) / bound if 0 < bound < np.inf else 0.0 if bound == 0 else 1.0,
        solve_seconds=time.perf_counter() - t0,
        notes=tuple(notes),
    )


def _record_unit_refusal(
    state: _RankRule, unit: list[int], refusal: _Refusal, refusals: dict[int, _Refusal]
) -> None:
    """Give each request of a refused unit its own reason; partners that fit get the partner code.

    A partner "fits" when it alone could join the funded set, so the explanation points at the
    requests of the proposal that actually block it.
    """
    if refusal.reason == UNDETERMINED:
        refusal = _Refusal(
            UNDETERMINED, "the solver hit its time limit before deciding whether it fits"
        )
    if len(unit) == 1:
        refusals[unit[0]] = refusal
        return
    inst = state.inst
    blocking = []
    for r in unit:
        comp = state._component([r])
        budget, caps = state._residual_coupling(comp)
        status, _ = state._solve(sorted(comp | {r}), budget, caps, "none")
        if status != _FEASIBLE:
            blocking.append(r)
    for r in unit:
        if blocking and r not in blocking:
            ids = ", ".join(inst.requests[b].id for b in blocking)
            refusals[r] = _Refusal(
                PARTNER_UNFUNDED,
                f"its proposal {inst.requests[r].proposal_id} is all-or-nothing and {ids} "
                "could not be funded",
            )
        else:
            refusals[r] = refusal


def funded_units(rnd: Round, outcomes: Sequence[RequestOutcome]) -> list[bool]:
    """Funded flag per decision unit in rank order, for lexicographic comparisons."""
    inst = Instance(rnd)
    funded = {o.request_id for o in outcomes if o.funded_mass > 0}
    return [inst.requests[unit[0]].id in funded for unit in rank_units(inst)]
