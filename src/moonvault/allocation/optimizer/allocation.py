"""Mass allocation for a release round, in three lexicographic stages.

Stage 1, the rank rule. Units are visited in rank order (an all-or-nothing proposal is one unit at
the position of its best-ranked request). A unit is funded at its minimum useful mass whenever
that is feasible together with every unit already funded; nothing funded is ever dropped. Because
dropping a unit from a feasible set keeps it feasible, this yields the lexicographically largest
funded set. Each decision is exact:

* a proven lower bound on the mass the funded set must release (its requests' least masses, or
  the least total found below, whichever is larger) proves budget and cap refusals outright;
* a first-fit into the mass still free proves feasibility without a solver;
* a max-flow relaxation of the unit's connected component (requests linked through shared
  eligible sources), charging each divisible request its least mass plus one handling loss,
  proves "does not fit" (OR-Tools max flow);
* repacking the component proves "fits": a min-cost flow that charges one loss per request and
  holds one back per source (enough for the splits of a forest-shaped flow), the same without
  the reserve, and next-fit with splitting where each source is filled by a subset sum;
* when the sources can take the unit but the budget or a cap is in the way, the least total mass
  of the funded set with the unit is computed exactly when every divisible request sits at its
  least mass and whole units use samples no divisible request can use (a min-cost assignment of
  the whole units); it decides the budget, and a cap when that country is at its least mass;
* otherwise the component is solved as a MILP with the other components' usage charged against
  the budget and caps, and, if other components could still make room, the whole funded set. A
  MILP time-out (or stage 1's share of the time running out) makes the unit "undetermined" and is
  reported; it is never passed off as "does not fit".

Stage-1 allocations are trimmed to the least masses the split rules allow, which keeps the running
sums of released mass tight. Splits are modelled exactly: every portion costs the handling loss
and must reach the minimum split mass (see ``model`` for what is not enforced).

Stage 2 fixes the funded set and maximises rank-weighted delivered mass (weight 2 for the first
request falling linearly to 1 for the last), every funded request between its minimum and its
request, by fixing which portions are cut and optimising their masses; the gap to the LP bound
is reported (see ``_optimise_mass``). Stage 3 then looks for fewer portions while holding the
stage-2 objective within ``STAGE3_TOLERANCE``, within the time left.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow
from scipy.optimize import LinearConstraint, linear_sum_assignment

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

STAGE1_SHARE = 0.5
# Resolution of the subset sums in _pack_tight.
_GRID = 100_000
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

    def __init__(self, inst: Instance, decision_time: float, deadline: float):
        self.inst = inst
        self.decision_time = decision_time
        self.deadline = deadline
        self.alloc: dict[int, list[tuple[int, int]]] = {}
        self.used = np.zeros(len(inst.avail), dtype=np.int64)
        self.usage: dict[str, int] = dict.fromkeys(inst.countries, 0)
        self.lower: dict[str, int] = dict.fromkeys(inst.countries, 0)
        # A proven lower bound on the total mass of the funded set, at least the sum of lower.
        self.floor = 0
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
            self._set(r, self._trimmed(r, portions))
        for r in unit:
            self.lower[self.inst.requests[r].country] += self.inst.lower_mass(r)
            self.floor += self.inst.lower_mass(r)
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

    def _trimmed(self, r: int, portions: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Portions cut back towards the least mass: what stage 1 holds is then as small as the
        split rules allow, which makes the running budget and cap sums exact lower bounds."""
        inst = self.inst
        if inst.requests[r].whole_unit:
            return portions
        excess = sum(m for _, m in portions) - inst.lower_mass(r)
        out = []
        for s, m in sorted(portions, key=lambda p: -p[1]):
            cut = max(min(excess, m - inst.min_split), 0)
            excess -= cut
            out.append((s, m - cut))
        return out

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
        left = min(self.decision_time, self.deadline - time.perf_counter())
        if left <= 0:
            return _TIMEOUT, None
        self.milp_calls += 1
        # Any feasible allocation decides the unit; the mass objective only needs to be good.
        res = model.solve(left, gap=0.05)
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

        Every divisible request has at least one portion, so it needs its least mass plus one
        handling loss from its sources; further losses, the minimum split mass and the
        exclusivity of whole units are relaxed (a whole unit needs only the mass of its smallest
        eligible sample, from any of them).
        """
        inst = self.inst
        graph = max_flow.SimpleMaxFlow()
        n = len(reqs)
        demand = 0
        for i, r in enumerate(reqs):
            req = inst.requests[r]
            usable = inst.usable(r)
            if not len(usable):
                return True
            need = inst.lower_mass(r) + (0 if req.whole_unit else inst.loss)
            demand += need
            graph.add_arc_with_capacity(0, 2 + i, need)
            cap = inst.avail[usable]
            if not req.whole_unit:
                cap = np.minimum(cap, req.requested_mass + inst.loss)
            graph.add_arcs_with_capacity(np.full(len(usable), 2 + i), 2 + n + usable, cap)
        srcs = np.unique(np.concatenate([inst.usable(r) for r in reqs]))
        graph.add_arcs_with_capacity(2 + n + srcs, np.ones(len(srcs), np.int64), inst.avail[srcs])
        graph.solve(0, 1)
        return graph.optimal_flow() < demand

    def _pack(self, reqs: list[int], reserve: bool) -> dict[int, list[tuple[int, int]]] | None:
        """A placement of ``reqs`` (a whole component) on fresh sources at least masses, or None.

        Whole units keep their sources (new ones take the smallest free sample). Divisible
        requests are routed by a min-cost flow that charges one handling loss per request and
        prefers the portions already cut; requests the flow splits then need one more loss per
        extra portion, taken from the slack of their sources. A sufficient test only: None
        proves nothing.
        """
        inst = self.inst
        placed = self._place_whole_units(reqs)
        if placed is None:
            return None
        out, free, div = placed
        if not div:
            return out
        flow = min_cost_flow.SimpleMinCostFlow()
        sink, n = len(free), len(div)
        tails, heads, caps, costs = [], [], [], []
        need = np.array([inst.lower_mass(r) + inst.loss for r in div], dtype=np.int64)
        for i, r in enumerate(div):
            usable = inst.usable(r)
            usable = usable[free[usable] - inst.loss >= inst.min_split]
            mine = {s for s, _ in self.alloc.get(r, [])}
            tails.append(np.full(len(usable), sink + 1 + i))
            heads.append(usable)
            caps.append(np.minimum(free[usable], inst.requests[r].requested_mass + inst.loss))
            costs.append(np.array([0 if int(s) in mine else 1 for s in usable], dtype=np.int64))
        srcs = np.unique(np.concatenate(heads))
        tails.append(srcs)
        heads.append(np.full(len(srcs), sink))
        # Holding back one loss per source pays for the splits of a forest-shaped flow: rooted
        # at a source, each extra portion of a request leads to a distinct child source.
        caps.append(np.maximum(free[srcs] - inst.loss, 0) if reserve else free[srcs])
        costs.append(np.zeros(len(srcs), np.int64))
        flow.add_arcs_with_capacity_and_unit_cost(
            *(np.concatenate(part) for part in (tails, heads, caps, costs))
        )
        flow.set_nodes_supplies(sink + 1 + np.arange(n), need)
        flow.set_node_supply(sink, -int(need.sum()))
        if flow.solve() != flow.OPTIMAL:
            return None
        arcs = np.arange(flow.num_arcs() - len(srcs))
        f = flow.flows(arcs)
        used = np.bincount(np.concatenate(heads[:-1]), weights=f, minlength=sink).astype(np.int64)
        free -= used
        tail_req = np.concatenate(tails[:-1]) - sink - 1
        head_src = np.concatenate(heads[:-1])
        for i, r in enumerate(div):
            mask = (tail_req == i) & (f > 0)
            portions = sorted(
                zip(map(int, head_src[mask]), map(int, f[mask] - inst.loss), strict=True),
                key=lambda p: -p[1],
            )
            kept = [(s, m) for s, m in portions if m >= inst.min_split]
            for s, m in portions:
                if m < inst.min_split:
                    free[s] += m + inst.loss
            short = inst.lower_mass(r) - sum(m for _, m in kept)
            req_cap = inst.requests[r].requested_mass
            grown = []
            for s, m in kept:
                add = max(min(short, int(free[s]), req_cap - m), 0)
                free[s] -= add
                short -= add
                grown.append((s, m + add))
            if short > 0 or not grown:
                return None
            out[r] = grown
        return out

    def _place_whole_units(self, reqs: list[int]):
        """Whole units keep their samples, new ones take the smallest free one.

        Returns (allocation, mass left per source, divisible requests) or None.
        """
        inst = self.inst
        free = inst.avail.copy()
        out: dict[int, list[tuple[int, int]]] = {}
        div = []
        for r in reqs:
            if not inst.requests[r].whole_unit:
                div.append(r)
            elif r in self.alloc:
                out[r] = self.alloc[r]
                free[self.alloc[r][0][0]] = 0
        for r in reqs:
            if inst.requests[r].whole_unit and r not in out:
                usable = inst.usable(r)
                options = usable[free[usable] == inst.avail[usable]]
                if not len(options):
                    return None
                s = int(options[np.argmin(inst.avail[options])])
                out[r] = [(s, int(inst.avail[s]))]
                free[s] = 0
        return out, free, div

    def _pack_tight(self, reqs: list[int], descending: bool):
        """Next-fit with splitting, each source filled as far as possible by a subset sum.

        For components filled to within a few handling losses, where a flow splits too many
        requests: filling sources nearly exactly leaves at most one split per source. Sizes are
        rounded up and capacities down to a grid of at most ``_GRID`` steps, so what the subset
        sum accepts always fits. A sufficient test only.
        """
        inst = self.inst
        placed = self._place_whole_units(reqs)
        if placed is None:
            return None
        out, free, div = placed
        rest = {r: inst.lower_mass(r) for r in div}
        if any(rest[r] > inst.requests[r].requested_mass for r in div):
            return None
        elig = {r: set(map(int, inst.usable(r))) for r in div}
        for r in div:
            out[r] = []
        srcs = sorted({s for r in div for s in elig[r]}, key=lambda s: int(free[s]))
        for s in reversed(srcs) if descending else srcs:
            items = [r for r in rest if s in elig[r] and rest[r] + inst.loss <= free[s]]
            cap = int(free[s])
            grid = max(1, -(-cap // _GRID))
            sizes = [-(-(rest[r] + inst.loss) // grid) for r in items]
            reach = [1]
            for size in sizes:
                reach.append(reach[-1] | (reach[-1] << size))
            target = (reach[-1] & ((1 << (cap // grid + 1)) - 1)).bit_length() - 1
            for i in range(len(items), 0, -1):
                if not (reach[i - 1] >> target) & 1:
                    r = items[i - 1]
                    target -= sizes[i - 1]
                    out[r].append((s, rest.pop(r)))
                    free[s] -= out[r][-1][1] + inst.loss
            while free[s] - inst.loss >= inst.min_split:
                # A fragment of the largest remaining request fills the gap.
                open_r = [r for r in rest if s in elig[r] and rest[r] >= 2 * inst.min_split]
                if not open_r:
                    break
                r = max(open_r, key=lambda q: rest[q])
                part = min(int(free[s]) - inst.loss, rest[r] - inst.min_split)
                out[r].append((s, part))
                free[s] -= part + inst.loss
                rest[r] -= part
        return None if rest else out

    def _fits_residual(self, comp: set[int], solution: dict[int, list[tuple[int, int]]]) -> bool:
        """Whether ``solution`` (replacing the allocation of ``comp``) keeps budget and caps."""
        budget, caps = self._residual_coupling(comp)
        mine: dict[str, int] = {}
        for r, portions in solution.items():
            c = self.inst.requests[r].country
            mine[c] = mine.get(c, 0) + sum(m for _, m in portions)
        return sum(mine.values()) <= budget and all(
            mine.get(c, 0) <= cap for c, cap in caps.items()
        )

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
        for attempt in (
            lambda: self._pack(reqs, True),
            lambda: self._pack(reqs, False),
            lambda: self._pack_tight(reqs, False),
            lambda: self._pack_tight(reqs, True),
        ):
            packed = attempt()
            if packed is not None and self._fits_residual(comp, packed):
                self._fund(unit, packed)
                return FULL, None
            if packed is not None:
                # The sources can take the unit; only the budget or a cap is in the way.
                return self._coupling_decision(unit, comp, reqs, extra_lower)
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
        minimal = self._minimal_allocation(unit, comp, reqs)
        if minimal is not None:
            mass = dict.fromkeys(inst.countries, 0)
            for r in set(self.alloc) | set(unit):
                mass[inst.requests[r].country] += sum(
                    m for _, m in minimal.get(r, self.alloc.get(r))
                )
            if self._total(mass) > inst.budget:
                # No allocation of the funded set with the unit releases less mass than this.
                return UNFUNDED, self._budget_refusal(extra_lower)
            over = [c for c, cap in inst.cap.items() if mass[c] > cap]
            if not over:
                self._fund(unit, minimal)
                self.floor = max(self.floor, self._total(mass))
                return FULL, None
            least = dict.fromkeys(inst.countries, 0)
            for r in set(self.alloc) | set(unit):
                least[inst.requests[r].country] += inst.lower_mass(r)
            if any(mass[c] == least[c] for c in over):
                # Every request of that country already takes its least mass.
                return UNFUNDED, self._cap_refusal(extra_lower)
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

    def _minimal_allocation(self, unit: list[int], comp: set[int], reqs: list[int]):
        """Changes that bring the funded set plus ``unit`` to its least total mass, or None.

        Exact when every divisible request sits at its least mass (the unit's component is
        repacked at least masses, the others already are) and whole units draw only on samples
        no divisible request can use: then the least total is the divisible minima plus a
        min-cost assignment of all whole units to their samples, and nothing else can change.
        """
        inst = self.inst
        packed = None
        for attempt in (
            lambda: self._pack(reqs, True),
            lambda: self._pack(reqs, False),
            lambda: self._pack_tight(reqs, False),
        ):
            packed = attempt()
            if packed is not None:
                break
        if packed is None:
            return None
        packed = {r: self._trimmed(r, p) for r, p in packed.items()}
        everyone = set(self.alloc) | set(unit)
        current = {**self.alloc, **packed}
        divisible = [r for r in everyone if not inst.requests[r].whole_unit]
        if any(sum(m for _, m in current[r]) != inst.lower_mass(r) for r in divisible):
            return None
        whole = sorted(r for r in everyone if inst.requests[r].whole_unit)
        if not whole:
            return packed
        shared = np.zeros(len(inst.avail), dtype=bool)
        for r in divisible:
            shared[inst.usable(r)] = True
        options = [inst.usable(r) for r in whole]
        if any(shared[o].any() for o in options):
            return None
        cols = np.unique(np.concatenate(options))
        forbidden = float(inst.avail.sum()) + 1.0
        cost = np.full((len(whole), len(cols)), forbidden)
        for i, o in enumerate(options):
            cost[i, np.searchsorted(cols, o)] = inst.avail[o]
        rows, picked = linear_sum_assignment(cost)
        if np.any(cost[rows, picked] >= forbidden):
            return None
        for i, j in zip(rows, picked, strict=True):
            s = int(cols[j])
            packed[whole[i]] = [(s, int(inst.avail[s]))]
        return packed

    # -- explanations ------------------------------------------------------------------------

    def _lower_bound_refusal(self, extra: dict[str, int]) -> _Refusal | None:
        # Adding requests never lets the funded set release less, so its floor carries over.
        if self.floor + sum(extra.values()) > self.inst.budget:
            return self._budget_refusal(extra)
        for c, amount in extra.items():
            if c in self.inst.cap and self.lower[c] + amount > self.inst.cap[c]:
                return self._cap_refusal(extra)
        return None

    def _budget_refusal(self, extra: dict[str, int]) -> _Refusal:
        left = self.inst.budget - self.floor
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


def _with_fixed_portions(
    inst: Instance,
    funded: list[int],
    allowed: dict[int, set[int]],
    fixed: dict[int, set[int]],
    time_limit: float,
) -> dict[int, list[tuple[int, int]]] | None:
    """Stage 2 on the ``allowed`` pairs with the ``fixed`` ones cut for sure.

    With every allowed pair fixed only masses are free and no binaries are left.
    """
    lower = {r: inst.requests[r].minimum_mass for r in funded}
    weights = _rank_weights(inst)
    coupling = (inst.budget, dict(inst.cap))
    model = build_model(inst, funded, lower, *coupling, "weighted", weights, allowed)
    n = model.n_div
    keys = model.pair_req[:n] * len(inst.avail) + model.pair_src[:n]
    pinned = np.array([r * len(inst.avail) + s for r, ss in fixed.items() for s in ss], np.int64)
    model.bounds.lb[n + np.flatnonzero(np.isin(keys, pinned))] = 1
    res = model.solve(time_limit, gap=STAGE2_GAP / 10)
    return None if res.x is None else _apply_solution(inst, model, res.x)


def _optimise_mass(
    inst: Instance,
    funded: list[int],
    start: dict[int, list[tuple[int, int]]],
    time_limit: float,
    notes: list[str],
) -> tuple[dict[int, list[tuple[int, int]]], float, float]:
    """Stages 2 and 3 on the funded set; returns (allocation, objective, bound).

    The bound is the LP relaxation of the stage-2 MILP, tightened by one portion (hence one
    handling loss) per request. Solutions come from fixing which portions are cut, so that
    only masses are left (integer, but without binaries, hence fast at any size): first the
    rank-rule allocation's portions, always feasible; then those plus a new portion wherever a
    source has room for one, best rank first; then the relaxation's portions of at least the
    minimum split mass. Stage 3 looks for fewer portions at the same objective among the pairs
    the relaxation or the rank-rule allocation use, within the time left.
    """
    weights = _rank_weights(inst)

    def value(solution) -> float:
        return rank_weighted_mass(inst, solution)

    if not funded:
        return start, 0.0, 0.0
    deadline = time.perf_counter() + time_limit
    lower = {r: inst.requests[r].minimum_mass for r in funded}
    coupling = (inst.budget, dict(inst.cap))
    full = build_model(inst, funded, lower, *coupling, "weighted", weights)
    relaxed = full.relaxation(0.3 * time_limit)
    best, objective = start, value(start)
    if relaxed.status != 0:
        notes.append("the stage-2 relaxation did not finish; no bound is proven")
        return best, objective, float("inf")
    bound = float(-1e-6 * relaxed.fun)

    n = full.n_div
    mass = np.concatenate([relaxed.x[:n], relaxed.x[2 * n : 2 * n + len(full.pair_req) - n]])
    used = {r: {s for s, _ in start.get(r, [])} for r in funded}
    relaxed_pairs: dict[int, set[int]] = {r: set() for r in funded}
    big: dict[int, set[int]] = {r: set() for r in funded}
    for k in np.flatnonzero(mass > 1e-6):
        r, s = int(full.pair_req[k]), int(full.pair_src[k])
        relaxed_pairs[r].add(s)
        if k >= n or mass[k] >= inst.min_split:
            big[r].add(s)
    big = {r: big[r] or used[r] for r in funded}
    improved = False
    for attempt in ("rank rule", "grown", "relaxation"):
        left = deadline - time.perf_counter()
        if left < 0.1:
            break
        if attempt == "grown":
            grown = {r: list(p) for r, p in best.items()}
            _add_portions(inst, grown)
            cuts = {r: {s for s, _ in grown.get(r, [])} for r in funded}
        else:
            cuts = used if attempt == "rank rule" else big
        solution = _with_fixed_portions(inst, funded, cuts, cuts, min(left, 0.3 * time_limit))
        if solution is not None and value(solution) > objective:
            best, objective, improved = solution, value(solution), True
    if not improved:
        notes.append("stage 2 found no better solution than the rank-rule allocation in time")
        return best, objective, max(bound, objective)

    floor = objective * 1e6 * (1 - STAGE3_TOLERANCE)
    either = {r: relaxed_pairs[r] | used[r] for r in funded}
    splits = build_model(inst, funded, lower, *coupling, "splits", weights, either)
    splits.constraints.append(LinearConstraint(splits.weight_row[None, :], floor, np.inf))
    left = min(deadline - time.perf_counter(), 1.0 + 0.005 * len(funded))
    res3 = splits.solve(left, gap=1e-2) if left > 0.2 else None
    if res3 is not None and res3.x is not None:
        fewer = _apply_solution(inst, splits, res3.x)
        count = sum(len(p) for p in fewer.values())
        if count <= sum(len(p) for p in best.values()):
            best, objective = fewer, value(fewer)
    else:
        notes.append("stage 3 (fewer splits) found nothing in time; stage-2 portions kept")
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


def _add_portions(inst: Instance, alloc: dict[int, list[tuple[int, int]]]) -> None:
    """Cut a new portion for requests short of their request, best rank first, wherever a
    source still has room for one; the masses are rebalanced afterwards with these cuts fixed.
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
        mine = {s for s, _ in alloc[r]}
        usable = [int(s) for s in inst.usable(r) if int(s) not in mine]
        for s in sorted(usable, key=lambda q: used[q]):
            room = min(
                int(inst.avail[s] - used[s]) - inst.loss,
                req.requested_mass - sum(m for _, m in alloc[r]),
                inst.budget - sum(usage.values()),
                inst.cap.get(req.country, inst.budget) - usage[req.country],
            )
            if room < inst.min_split:
                continue
            alloc[r].append((s, room))
            used[s] += room + inst.loss
            usage[req.country] += room


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
    # Stage 1 may spend at most half of the time on solver calls; what is left undecided then is
    # reported as undetermined rather than starving stage 2.
    state = _RankRule(inst, decision_time_limit, t0 + STAGE1_SHARE * time_limit)
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
