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
  the reserve, and next-fit with splitting where each source is filled by a subset sum, in
  source orders by free mass and then, for a bounded time, in seeded random orders;
* a component whose funded requests left no room for a virtual request at some least mass
  (proven once by ``_close``) refuses every later request needing as much from its sources;
* if neither the budget nor a cap can bind for any least-mass allocation of the component, the
  question is one for the sources alone: each component the unit touches is decided on its own,
  by a bipartite matching (max flow) when it holds only whole units, by source groupings
  (``_grouped``) when it holds only divisible requests, else (or when those cannot decide) by a
  small MILP;
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

Components link requests through shared eligible sources; the requests of a funded
all-or-nothing proposal stay in their own components, since nothing but the budget and the caps
couples them once the proposal is funded.

Stage 2 fixes the funded set and maximises rank-weighted delivered mass (weight 2 for the first
request falling linearly to 1 for the last), every funded request between its minimum and its
request, by fixing which portions are cut and optimising their masses (a linear program); the gap
to a proven bound is reported (see ``_optimise_mass``). Stage 3 then merges portions and, on
small rounds, looks for fewer portions while holding the stage-2 objective within
``STAGE3_TOLERANCE``, within the time left.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow
from ortools.sat.python import cp_model
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from moonvault.allocation.messages import FUNDED_IN_FULL, gettext_noop

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
# Shuffled packings tried before a MILP, and the share of a decision's time they may take.
PACK_SEARCH_TRIES = 64
PACK_SEARCH_SHARE = 0.1
# Source groupings (see ``_grouped``) beyond which the grouped decision is not attempted.
GROUPINGS_MAX = 2_000
# Resolution of the subset sums in _pack_tight.
_GRID = 100_000
STAGE2_GAP = 1e-3
STAGE3_TOLERANCE = 1e-6
# Stage-2 models up to this many variables are also solved as a full MILP (for at most
# SMALL_MODEL_SECONDS, when the heuristics leave a gap above STAGE2_GAP), and stage 3 runs its
# fewest-portions MILP on them for at most STAGE3_SECONDS.
SMALL_MODEL = 5_000
SMALL_MODEL_SECONDS = 2.0
STAGE3_SECONDS = 0.25
# Above this many variables the stage-2 LP relaxation is not attempted; the flow bound stands.
LP_BOUND_MODEL = 100_000
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
    # A message marked for translation and its values (see RequestOutcome).
    detail: str
    params: dict = field(default_factory=dict)


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
        # Whether ``floor`` is already the funded set's exact least total (``_tighten_floor``).
        self.floor_tight = False
        self.parent = np.arange(len(inst.avail))
        self.members: dict[int, set[int]] = {}
        self.sources: dict[int, set[int]] = {}
        # Per component root, until the component changes: (least mass, untouched sources) from
        # which a new divisible request drawing only on the component's sources and those is
        # proven not to fit, and the same for virtual requests shown to fit (see ``_close``).
        self.closed: dict[int, list[tuple[int, frozenset[int]]]] = {}
        self.open: dict[int, list[tuple[int, frozenset[int]]]] = {}
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
        self.floor_tight = False
        for r, portions in solution.items():
            self._set(r, self._trimmed(r, portions))
        for r in unit:
            self.lower[self.inst.requests[r].country] += self.inst.lower_mass(r)
            self.floor += self.inst.lower_mass(r)
        # Components link requests through shared sources only: the requests of a funded
        # all-or-nothing unit stay in their own components, their unit decision is taken.
        for r in unit:
            roots = {self._root(int(s)) for s in self.inst.eligible[r]}
            if not roots:
                continue
            merged = {r}
            sources = {int(s) for s in self.inst.eligible[r]}
            for root in roots:
                merged |= self.members.pop(root, set())
                sources |= self.sources.pop(root, set())
                self.closed.pop(root, None)
                self.open.pop(root, None)
            keep = min(roots)
            for root in roots:
                self.parent[root] = keep
            self.members[keep] = merged
            self.sources[keep] = sources

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
        # Only the unit's own sources matter: work on copies of those, never on every source.
        srcs = np.unique(np.concatenate([inst.usable(r) for r in unit]))
        used = np.zeros(len(srcs), dtype=np.int64) if fresh else self.used[srcs]
        free = inst.avail[srcs] - used
        taken = used > 0
        extra: dict[str, int] = {}
        out: dict[int, list[tuple[int, int]]] = {}
        for r in unit:
            req = inst.requests[r]
            usable = np.searchsorted(srcs, inst.usable(r))
            if req.whole_unit:
                options = usable[~taken[usable]]
                if not len(options):
                    return None
                i = int(options[np.argmin(free[options])])
                out[r] = [(int(srcs[i]), int(free[i]))]
                extra[req.country] = extra.get(req.country, 0) + int(free[i])
                free[i] = 0
                taken[i] = True
                continue
            got, portions = 0, []
            for i in usable[np.argsort(-free[usable], kind="stable")]:
                room = int(free[i]) - inst.loss
                take = min(
                    max(req.minimum_mass - got, inst.min_split), room, req.requested_mass - got
                )
                if got >= req.minimum_mass or take < inst.min_split:
                    break
                portions.append((int(srcs[i]), take))
                free[i] -= take + inst.loss
                taken[i] = True
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

    def _pack_tight(self, reqs: list[int], descending: bool, rng: random.Random | None = None):
        """Next-fit with splitting, each source filled as far as possible by a subset sum.

        For components filled to within a few handling losses, where a flow splits too many
        requests: filling sources nearly exactly leaves at most one split per source. Sizes are
        rounded up and capacities down to a grid of at most ``_GRID`` steps, so what the subset
        sum accepts always fits. Sources are visited by free mass, or in the order ``rng``
        draws, which also shuffles which requests the subset sums pick. A sufficient test only.
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
        if rng is not None:
            rng.shuffle(srcs)
        for s in reversed(srcs) if descending else srcs:
            items = [r for r in rest if s in elig[r] and rest[r] + inst.loss <= free[s]]
            if rng is not None:
                rng.shuffle(items)
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

    def _pack_shuffled(self, reqs: list[int]):
        """``_pack_tight`` in up to ``PACK_SEARCH_TRIES`` seeded random source and request
        orders, for at most ``PACK_SEARCH_SHARE`` of a decision's time: tight components that
        the fixed orders leave a few losses short often fit in another order. A sufficient test
        only."""
        rng = random.Random(len(reqs))
        stop = time.perf_counter() + PACK_SEARCH_SHARE * self.decision_time
        for _ in range(PACK_SEARCH_TRIES):
            if time.perf_counter() > min(stop, self.deadline):
                break
            packed = self._pack_tight(reqs, False, rng)
            if packed is not None:
                return packed
        return None

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
        if self._closed_out(unit):
            return UNFUNDED, self._source_refusal(unit, alone=not self._alone_feasible(unit))
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
            lambda: self._pack_shuffled(reqs),
        ):
            packed = attempt()
            if packed is not None and self._fits_residual(comp, packed):
                self._fund(unit, packed)
                return FULL, None
            if packed is not None:
                # The sources can take the unit; only the budget or a cap is in the way.
                return self._coupling_decision(unit, comp, reqs, extra_lower)
        if self._coupling_slack(comp, unit):
            # Neither the budget nor a cap can be in the way at the least masses: a question
            # for the sources alone.
            status, solution = self._solve_by_component(unit)
            if status == _FEASIBLE and self._fits_residual(comp, solution):
                self._fund(unit, solution)
                return FULL, None
            if status == _TIMEOUT:
                return UNFUNDED, _Refusal(UNDETERMINED, "")
            if status != _FEASIBLE:
                alone = not self._alone_feasible(unit)
                if not alone:
                    self._close(unit)
                return UNFUNDED, self._source_refusal(unit, alone=alone)
            # The packing funds more than the least masses (a least mass no single source can
            # hold, split into portions of at least the minimum split): the budget or a cap
            # may bind after all, so the MILP with them decides.
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

    def could_join(self, unit: list[int]) -> bool:
        """Whether ``unit`` would fit with the funded set, without funding it; a time-out counts
        as not fitting. The cheap tests of ``decide`` come first."""
        inst = self.inst
        extra: dict[str, int] = {}
        for r in unit:
            c = inst.requests[r].country
            extra[c] = extra.get(c, 0) + inst.lower_mass(r)
        if self._lower_bound_refusal(extra) is not None:
            return False
        if self._first_fit(unit) is not None:
            return True
        if self._closed_out(unit):
            return False
        comp = self._component(unit)
        reqs = sorted(comp | set(unit))
        if self._relaxation_infeasible(reqs):
            return False
        if self._coupling_slack(comp, unit):
            status, solution = self._solve_by_component(unit)
            if status != _FEASIBLE or self._fits_residual(comp, solution):
                return status == _FEASIBLE
        budget, caps = self._residual_coupling(comp)
        return self._solve(reqs, budget, caps, "none")[0] == _FEASIBLE

    def _closure_key(self, r: int) -> tuple[int, frozenset[int]] | None:
        """The one funded component divisible request ``r`` draws on, and the untouched
        sources it may use besides; None when it draws on none or on several components."""
        usable = self.inst.usable(r)
        if self.inst.whole[r] or not len(usable):
            return None
        roots = [self._root(int(s)) for s in usable]
        funded = {root for root in roots if root in self.members}
        if len(funded) != 1:
            return None
        fresh = frozenset(
            int(s) for s, root in zip(usable, roots, strict=True) if root not in funded
        )
        return funded.pop(), fresh

    def _closed_out(self, unit: list[int]) -> bool:
        """True when a request of ``unit`` is covered by a closure proven by ``_close``; the
        unit's other requests only take more room."""
        for r in unit:
            key = self._closure_key(r)
            if key is None:
                continue
            root, fresh = key
            least = self.inst.lower_mass(r)
            if any(least >= m and fresh <= f for m, f in self.closed.get(root, ())):
                return True
        return False

    def _close(self, unit: list[int]) -> None:
        """After a refusal on the sources alone, try to prove it for the whole component.

        A virtual divisible request at the refused request's least mass, free to draw on every
        source of its component and on the untouched sources the request could use, is tried
        with the component's funded requests (one MILP). If even it does not fit, no request
        drawing only on those sources and needing at least as much can fit until the component
        changes, and ``_closed_out`` refuses such requests without a solver; a saturated
        popular parent sample meets many of them. A virtual request that fits is remembered so
        the attempt is not repeated for smaller masses.
        """
        inst = self.inst
        for r in unit:
            key = self._closure_key(r)
            if key is None:
                continue
            root, fresh = key
            least = inst.lower_mass(r)
            if any(least <= m and fresh >= f for m, f in self.open.get(root, ())):
                continue
            left = min(self.decision_time, self.deadline - time.perf_counter())
            if left <= 0:
                return
            reqs = sorted(self.members[root])
            lower = {q: inst.requests[q].minimum_mass for q in reqs}
            sources = np.array(sorted(self.sources[root] | fresh), dtype=np.int64)
            model = build_model(inst, reqs, lower, None, None, "none", virtual=(sources, least))
            self.milp_calls += 1
            res = model.solve(left, gap=0.05)
            if res.status == 2:
                self.closed.setdefault(root, []).append((least, fresh))
            elif res.x is not None:
                self.open.setdefault(root, []).append((least, fresh))

    def _coupling_slack(self, comp: set[int], unit: list[int]) -> bool:
        """Whether no allocation of ``comp`` and ``unit`` trimmed to least masses can break the
        budget or a cap (divisible requests are trimmed to their least mass when funded; whole
        units weigh at most their largest usable sample)."""
        inst = self.inst
        budget, caps = self._residual_coupling(comp)
        most = dict.fromkeys(inst.countries, 0)
        for r in comp | set(unit):
            usable = inst.usable(r)
            heaviest = int(inst.avail[usable].max(initial=0))
            most[inst.requests[r].country] += heaviest if inst.whole[r] else inst.lower_mass(r)
        return self._total(most) <= budget and all(most[c] <= cap for c, cap in caps.items())

    def _solve_by_component(self, unit: list[int]):
        """Feasibility of the unit on the sources alone, one MILP per component it touches.

        Without the budget and the caps the components are independent: the unit fits if and
        only if every component, with the unit's requests that draw on it, fits.
        """
        groups: list[tuple[set[int], set[int]]] = []
        for r in unit:
            roots = {self._root(int(s)) for s in self.inst.eligible[r]}
            joined = [g for g in groups if g[0] & roots]
            for g in joined:
                groups.remove(g)
                roots |= g[0]
            groups.append((roots, {r}.union(*(g[1] for g in joined))))
        solution: dict[int, list[tuple[int, int]]] = {}
        for roots, reqs in groups:
            for root in roots:
                reqs |= self.members.get(root, set())
            if all(self.inst.whole[q] for q in reqs):
                status, part = self._match_whole(sorted(reqs))
            elif any(self.inst.whole[q] for q in reqs):
                status, part = self._solve(sorted(reqs), None, None, "none")
            else:
                status, part = self._grouped(sorted(reqs))
                if status is None:
                    status, part = self._solve(sorted(reqs), None, None, "none")
            if status != _FEASIBLE:
                return status, None
            solution.update(part)
        return _FEASIBLE, solution

    def _grouped(self, reqs: list[int]):
        """Divisible requests on their component's fresh sources, decided through source groups.

        In any packing, the requests and sources linked by portions form groups; a group of k
        sources and m requests holds at least m + k - 1 portions, so it needs its requests'
        least masses plus one loss each plus k - 1 more, and the groups of one packing merge at
        most (free mass) / loss sources in all. Every grouping within that bound is tried in
        turn, sources alone first: a CP-SAT model gives each request a group holding one of its
        sources, within the groups' capacities. No grouping fitting proves the requests do not
        fit. A fitting grouping is a packing outright when its groups are single sources;
        larger groups are packed by a MILP on their own sources. Returns (status, solution),
        status None when undecided in time: a tight component's MILP has many symmetric
        packings to search, which this avoids.
        """
        inst = self.inst
        if not inst.loss or any(inst.lower_mass(r) > inst.requested[r] for r in reqs):
            # Left to the MILP: with no handling loss nothing bounds the merges (and a merge
            # costs nothing, so groupings prove little), and a request smaller than the least
            # portion cannot be funded, where a group would place that portion and overfund it.
            return None, None
        srcs = sorted({int(s) for r in reqs for s in inst.usable(r)})
        size = {r: inst.lower_mass(r) + inst.loss for r in reqs}
        slack = int(inst.avail[srcs].sum()) - sum(size.values())
        if slack < 0:
            return _INFEASIBLE, None
        groupings = _groupings(srcs, slack // inst.loss, GROUPINGS_MAX)
        if groupings is None:
            return None, None
        usable = {r: set(map(int, inst.usable(r))) for r in reqs}
        unsure = False
        for grouping in groupings:
            left = min(self.deadline, time.perf_counter() + self.decision_time)
            left -= time.perf_counter()
            if left <= 0:
                return None, None
            capacity = [int(inst.avail[g].sum()) - (len(g) - 1) * inst.loss for g in grouping]
            options = {r: [i for i, g in enumerate(grouping) if usable[r] & set(g)] for r in reqs}
            status, placed = _assign_to_groups(size, options, capacity, left)
            if status == _TIMEOUT:
                return None, None
            if status == _INFEASIBLE:
                continue
            solution = self._pack_groups(grouping, placed, left)
            if solution is not None:
                return _FEASIBLE, solution
            # The groups' own split rules (or a time-out) refused this one: try the others,
            # but their failing no longer proves anything.
            unsure = True
        return (None, None) if unsure else (_INFEASIBLE, None)

    def _pack_groups(self, grouping: list[list[int]], placed: dict[int, int], time_limit: float):
        """Portions for requests placed in source groups: single sources take them whole, larger
        groups are packed by a MILP on their own sources; None if one of those fails."""
        inst = self.inst
        solution = {}
        for i, group in enumerate(grouping):
            members = sorted(r for r, g in placed.items() if g == i)
            if len(group) == 1:
                solution.update({r: [(group[0], inst.lower_mass(r))] for r in members})
                continue
            if not members:
                continue
            model = build_model(
                inst,
                members,
                {r: inst.lower_mass(r) for r in members},
                None,
                None,
                "none",
                allowed={r: set(group) for r in members},
            )
            self.milp_calls += 1
            res = model.solve(time_limit, gap=0.05)
            if res.x is None:
                return None
            solution.update(model.portions(res.x))
        return solution

    def _match_whole(self, reqs: list[int]):
        """Whole units alone: a bipartite matching of units to samples (a max flow), exact."""
        inst = self.inst
        graph = max_flow.SimpleMaxFlow()
        n = len(reqs)
        usable = [inst.usable(r) for r in reqs]
        srcs, src_node = np.unique(np.concatenate(usable), return_inverse=True)
        pair_req = np.repeat(np.arange(n), [len(u) for u in usable])
        graph.add_arcs_with_capacity(np.zeros(n, np.int64), 2 + np.arange(n), np.ones(n, np.int64))
        arcs = graph.add_arcs_with_capacity(
            2 + pair_req, 2 + n + src_node, np.ones(len(pair_req), np.int64)
        )
        graph.add_arcs_with_capacity(
            2 + n + np.arange(len(srcs)), np.ones(len(srcs), np.int64), np.ones(len(srcs), np.int64)
        )
        graph.solve(0, 1)
        if graph.optimal_flow() < n:
            return _INFEASIBLE, None
        taken = np.flatnonzero(graph.flows(arcs) > 0)
        return _FEASIBLE, {
            reqs[pair_req[k]]: [(int(srcs[src_node[k]]), int(inst.avail[srcs[src_node[k]]]))]
            for k in taken
        }

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
                self._tighten_floor()
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

    def _tighten_floor(self) -> None:
        """Raise ``floor`` to the funded set's exact least total when ``_minimal_allocation``
        can give it. Any allocation of the funded set plus a unit contains one of the funded set,
        so the least total plus the unit's least mass bounds every later decision: once the
        budget is nearly spent, refusals then need no repacking at all."""
        if self.floor_tight:
            return
        self.floor_tight = True
        least = self._minimal_allocation([], set(), [])
        if least is not None:
            total = sum(sum(m for _, m in least.get(r, p)) for r, p in self.alloc.items())
            self.floor = max(self.floor, total)

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
            gettext_noop(
                "the release budget had at most %(left)s left for its minimum of %(minimum)s"
            ),
            {"left": format_mass(max(left, 0)), "minimum": format_mass(need)},
        )

    def _cap_refusal(self, extra: dict[str, int]) -> _Refusal:
        inst = self.inst
        for c, amount in extra.items():
            if c in inst.cap and self.lower[c] + amount > inst.cap[c]:
                left = inst.cap[c] - self.lower[c]
                return _Refusal(
                    COUNTRY_CAP,
                    gettext_noop(
                        "the share cap of %(country)s (%(cap)s) had at most %(left)s left for "
                        "its minimum of %(minimum)s"
                    ),
                    {
                        "country": c,
                        "cap": format_mass(inst.cap[c]),
                        "left": format_mass(max(left, 0)),
                        "minimum": format_mass(amount),
                    },
                )
        capped = ", ".join(c for c in extra if c in inst.cap)
        return _Refusal(
            COUNTRY_CAP,
            gettext_noop(
                "the budget and the share cap of %(countries)s cannot both hold with it funded"
            ),
            {"countries": capped},
        )

    def _source_refusal(self, unit: list[int], alone: bool) -> _Refusal:
        inst = self.inst
        needs = sum(inst.lower_mass(r) for r in unit if not inst.requests[r].whole_unit)
        srcs = np.unique(np.concatenate([inst.eligible[r] for r in unit]))
        groups = ", ".join(sorted({inst.group[s] for s in srcs if inst.group[s]})) or "—"
        if any(inst.requests[r].whole_unit for r in unit):
            whole = [r for r in unit if inst.requests[r].whole_unit]
            usable = np.unique(np.concatenate([inst.usable(r) for r in whole]))
            if alone:
                return _Refusal(
                    RESERVE,
                    gettext_noop(
                        "none of its %(eligible)s eligible samples is available for release "
                        "(groups: %(groups)s)"
                    ),
                    {"eligible": len(srcs), "groups": groups},
                )
            if not np.all(self.used[usable] > 0):
                return _Refusal(
                    BELOW_MINIMUM,
                    gettext_noop(
                        "its eligible samples are free but needed whole by higher-ranked requests"
                    ),
                )
            return _Refusal(
                SOURCE_EXHAUSTED,
                gettext_noop(
                    "all %(eligible)s of its eligible samples went to higher-ranked requests"
                ),
                {"eligible": len(usable)},
            )
        free = inst.avail[srcs] - (0 if alone else self.used[srcs]) - inst.loss
        room = int(free[free >= inst.min_split].sum())
        if alone:
            return _Refusal(
                RESERVE,
                gettext_noop(
                    "the available mass of its eligible sources after reserve (groups: "
                    "%(groups)s) was %(short)s below its minimum of %(minimum)s"
                ),
                {
                    "groups": groups,
                    "short": format_mass(max(needs - room, 0)),
                    "minimum": format_mass(needs),
                },
            )
        if room < needs:
            return _Refusal(
                SOURCE_EXHAUSTED,
                gettext_noop(
                    "the remaining available mass of its eligible sources (groups: %(groups)s) "
                    "was %(short)s below its minimum of %(minimum)s"
                ),
                {
                    "groups": groups,
                    "short": format_mass(needs - room),
                    "minimum": format_mass(needs),
                },
            )
        return _Refusal(
            BELOW_MINIMUM,
            gettext_noop(
                "%(room)s remains in its eligible sources but cannot be cut into its minimum of "
                "%(minimum)s alongside higher-ranked requests, given the minimum split mass and "
                "handling loss"
            ),
            {"room": format_mass(room), "minimum": format_mass(needs)},
        )


def _rank_weights(inst: Instance) -> np.ndarray:
    n = len(inst.requests)
    return 1.0 + (n - np.arange(n)) / max(n, 1)


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
    cuts: dict[int, set[int]],
    whole_at: dict[int, int],
    time_limit: float,
) -> dict[int, list[tuple[int, int]]] | None:
    """Stage 2 with the portions ``cuts`` fixed and whole units on the samples ``whole_at``.

    Only the portion masses are free: a linear program (no binaries) at any size. Its vertex is
    rounded down to micrograms and requests the rounding left below their minimum are topped
    up from the slack it freed; None when the portions cannot carry the funded set.
    """
    taken = np.zeros(len(inst.avail), dtype=bool)
    taken[list(whole_at.values())] = True
    div = [r for r in funded if not inst.whole[r]]
    pairs = [(r, s) for r in div for s in sorted(cuts.get(r, ())) if not taken[s]]
    # A request whose cuts all sit on whole units' samples (the relaxation's may) has no pair,
    # hence no minimum row: the LP would drop it from the funded set, breaking the rank rule.
    if set(div) - {r for r, _ in pairs}:
        return None
    req = np.array([p[0] for p in pairs], dtype=np.int64)
    src = np.array([p[1] for p in pairs], dtype=np.int64)
    n = len(pairs)
    count = np.bincount(src, minlength=len(inst.avail))
    room = inst.avail - inst.loss * count
    whole_mass = {r: int(inst.avail[s]) for r, s in whole_at.items()}
    budget = inst.budget - sum(whole_mass.values())
    caps = dict(inst.cap)
    for r, mass in whole_mass.items():
        if inst.requests[r].country in caps:
            caps[inst.requests[r].country] -= mass
    if np.any(room[src] < inst.min_split) or budget < 0 or any(c < 0 for c in caps.values()):
        return None
    if not n:
        return {r: [(s, int(inst.avail[s]))] for r, s in whole_at.items()}
    srcs, s_row = np.unique(src, return_inverse=True)
    reqs, r_row = np.unique(req, return_inverse=True)
    blocks = [
        (s_row, np.full(len(srcs), -np.inf), room[srcs]),
        (r_row, inst.minimum[reqs], inst.requested[reqs]),
        (np.zeros(n, dtype=np.int64), [-np.inf], [budget]),
    ]
    for country, cap in caps.items():
        mask = inst.country[req] == inst.countries.index(country)
        blocks.append((np.where(mask, 0, -1), [-np.inf], [cap]))
    rows, cols, lo, hi, offset = [], [], [], [], 0
    for row, row_lo, row_hi in blocks:
        keep = row >= 0
        rows.append(row[keep] + offset)
        cols.append(np.flatnonzero(keep))
        lo.append(np.asarray(row_lo, dtype=float))
        hi.append(np.asarray(row_hi, dtype=float))
        offset += len(lo[-1])
    rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
    a = sparse.csr_matrix((np.ones(len(rows_a)), (rows_a, cols_a)), shape=(offset, n))
    cap_y = np.minimum(room[src], inst.requested[req]).astype(float)
    res = milp(
        -_rank_weights(inst)[req],
        constraints=[LinearConstraint(a, np.concatenate(lo), np.concatenate(hi))],
        bounds=Bounds(np.full(n, float(inst.min_split)), cap_y),
        options={"time_limit": max(time_limit, 0.05)},
    )
    if res.x is None:
        return None
    y = np.floor(res.x + 1e-7).astype(np.int64)
    used = np.bincount(src, weights=y + inst.loss, minlength=len(inst.avail)).astype(np.int64)
    used += np.bincount(
        np.array(list(whole_at.values()), dtype=np.int64),
        weights=np.array([whole_mass[r] for r in whole_at], dtype=float),
        minlength=len(inst.avail),
    ).astype(np.int64)
    usage = dict.fromkeys(inst.countries, 0)
    for r, mass in whole_mass.items():
        usage[inst.requests[r].country] += mass
    got = np.bincount(r_row, weights=y, minlength=len(reqs)).astype(np.int64)
    for i, r in enumerate(reqs):
        usage[inst.countries[inst.country[r]]] += int(got[i])
    out = {r: [(s, int(inst.avail[s]))] for r, s in whole_at.items()}
    for i, r in enumerate(reqs):
        country = inst.countries[inst.country[r]]
        short = int(inst.minimum[r]) - int(got[i])
        mine = np.flatnonzero(r_row == i)
        for k in mine:
            if short <= 0:
                break
            add = min(
                short,
                int(inst.avail[src[k]] - used[src[k]]),
                int(cap_y[k]) - int(y[k]),
                inst.budget - sum(usage.values()),
                inst.cap.get(country, inst.budget) - usage[country],
            )
            if add > 0:
                y[k] += add
                used[src[k]] += add
                usage[country] += add
                short -= add
        if short > 0:
            return None
        out[int(r)] = [(int(src[k]), int(y[k])) for k in mine]
    return out


def _merge_portions(inst: Instance, alloc: dict[int, list[tuple[int, int]]]) -> int:
    """Stage 3's local step: move a request's smallest portion into its other portions where
    their sources have room, so the same mass comes from fewer sources and one handling loss
    less is spent. Delivered masses are unchanged. Returns the number of portions removed."""
    used = np.zeros(len(inst.avail), dtype=np.int64)
    for r, portions in alloc.items():
        for s, m in portions:
            used[s] += m if inst.whole[r] else m + inst.loss
    removed = 0
    for r in sorted(alloc):
        if inst.whole[r]:
            continue
        portions = sorted(alloc[r], key=lambda p: p[1])
        while len(portions) > 1:
            s0, m0 = portions[0]
            rest = portions[1:]
            cap = inst.requested[r]
            room = [
                min(int(inst.avail[s] - used[s]), int(inst.avail[s]) - inst.loss - m, cap)
                for s, m in rest
            ]
            if sum(max(x, 0) for x in room) < m0:
                break
            left = m0
            grown = []
            for (s, m), x in zip(rest, room, strict=True):
                add = min(max(x, 0), left)
                left -= add
                used[s] += add
                grown.append((s, m + add))
            used[s0] -= m0 + inst.loss
            portions = sorted(grown, key=lambda p: p[1])
            removed += 1
        alloc[r] = portions
    return removed


def _flow_bound(inst: Instance, funded: list[int]) -> tuple[float, dict[int, set[int]]] | None:
    """A min-cost-flow relaxation of stage 2: (bound in rank-weighted grams, its pairs).

    Every funded request must receive its least mass (plus one handling loss for a divisible
    one, which has at least one portion) from its eligible sources; a divisible request may take
    more, up to its request, through its country (capped) and the budget, each microgram earning
    its rank weight. Further losses and the minimum split mass are relaxed, and a whole unit
    draws only its smallest sample's mass from its samples; against the budget the whole units
    count their least total over exclusive samples (``_least_whole_mass``). The optimum bounds
    stage 2 from above. Weights ``1 + (n - r) / n`` times ``n`` are the
    integers ``2n - r``, so the flow's costs are exact. None if the flow finds no solution.
    """
    n = len(inst.requests)
    reqs = np.array(funded, dtype=np.int64)
    usable = [inst.usable(int(r)) for r in reqs]
    srcs, src_node = np.unique(np.concatenate(usable), return_inverse=True)
    ns, nr, nc = len(srcs), len(reqs), len(inst.countries)
    req_node = ns + np.arange(nr)
    country_node = ns + nr + np.arange(nc)
    budget_node, sink = ns + nr + nc, ns + nr + nc + 1
    whole = inst.whole[reqs]
    least = np.array([inst.lower_mass(int(r)) for r in reqs], dtype=np.int64)
    demand = least + np.where(whole, 0, inst.loss)
    mandatory = np.bincount(inst.country[reqs], weights=least, minlength=nc).astype(np.int64)
    counts = np.array([len(u) for u in usable])
    pair_req = np.repeat(np.arange(nr), counts)
    pair_cap = inst.avail[srcs][src_node]
    pair_cap = np.where(
        whole[pair_req], pair_cap, np.minimum(pair_cap, inst.requested[reqs][pair_req] + inst.loss)
    )
    extra = np.where(whole, 0, inst.requested[reqs] - least)
    country_cap = np.full(nc, inst.budget, dtype=np.int64)
    for c, cap in inst.cap.items():
        country_cap[inst.countries.index(c)] = cap
    tails = [src_node, req_node, country_node, [budget_node], np.arange(ns)]
    heads = [req_node[pair_req], country_node[inst.country[reqs]], np.full(nc, budget_node)]
    heads += [[sink], np.full(ns, sink)]
    caps = [pair_cap, np.maximum(extra, 0), np.maximum(country_cap - mandatory, 0)]
    released = int(least[~whole].sum()) + _least_whole_mass(inst, reqs[whole], usable, whole)
    caps += [[max(inst.budget - released, 0)], inst.avail[srcs]]
    costs = [np.zeros(len(pair_req)), -(2 * n - reqs), np.zeros(nc), [0], np.zeros(ns)]
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        *(
            np.concatenate([np.asarray(p, dtype=np.int64) for p in part])
            for part in (tails, heads, caps, costs)
        )
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:ns] = inst.avail[srcs]
    supplies[req_node] = -demand
    supplies[sink] = -(int(inst.avail[srcs].sum()) - int(demand.sum()))
    flow.set_nodes_supplies(np.arange(sink + 1), supplies)
    if flow.solve() != flow.OPTIMAL:
        return None
    weights = _rank_weights(inst)[reqs]
    value = float((weights * np.where(whole, 0, least)).sum()) - flow.optimal_cost() / n
    f = flow.flows(np.arange(len(pair_req)))
    pairs: dict[int, set[int]] = {int(r): set() for r in reqs}
    for k in np.flatnonzero((f >= inst.min_split + inst.loss) & ~whole[pair_req]):
        pairs[int(reqs[pair_req[k]])].add(int(srcs[src_node[k]]))
    return 1e-6 * value, pairs


def _least_whole_mass(
    inst: Instance, whole_reqs: np.ndarray, usable: list[np.ndarray], whole: np.ndarray
) -> int:
    """Least total mass the funded whole units can take: a min-weight matching of units to
    samples when no divisible request shares their samples, else the sum of their smallest."""
    smallest = sum(inst.lower_mass(int(r)) for r in whole_reqs)
    if not len(whole_reqs):
        return 0
    mine = [u for u, w in zip(usable, whole, strict=True) if w]
    theirs = [u for u, w in zip(usable, whole, strict=True) if not w]
    samples, col = np.unique(np.concatenate(mine), return_inverse=True)
    if theirs and np.isin(samples, np.concatenate(theirs)).any():
        return smallest
    row = np.repeat(np.arange(len(mine)), [len(u) for u in mine])
    graph = sparse.csr_matrix(
        (inst.avail[samples][col].astype(float), (row, col)), shape=(len(mine), len(samples))
    )
    try:
        _, cols = min_weight_full_bipartite_matching(graph)
    except ValueError:
        return smallest
    return max(smallest, int(inst.avail[samples][cols].sum()))


def _optimise_mass(
    inst: Instance,
    funded: list[int],
    start: dict[int, list[tuple[int, int]]],
    time_limit: float,
    notes: list[str],
) -> tuple[dict[int, list[tuple[int, int]]], float, float]:
    """Stages 2 and 3 on the funded set; returns (allocation, objective, bound).

    The bound is the better of a min-cost-flow relaxation (``_flow_bound``, fast at any size)
    and, on models of at most ``LP_BOUND_MODEL`` variables, the LP relaxation of the stage-2
    MILP tightened by one portion (hence one handling loss) per request. Solutions come from
    fixing which portions are cut and where whole units go, so that only masses are left, a
    linear program (fast at any size): first the rank-rule allocation's portions, always
    feasible; then those plus a new portion wherever a source has room for one, best rank
    first; then the relaxation's portions of at least the minimum split mass. If they leave a
    gap above ``STAGE2_GAP``, a model of at most ``SMALL_MODEL`` variables is then solved as the
    full MILP. Stage 3 merges portions where the sources allow it without changing any
    delivered mass, and on small models also solves for the fewest portions at the same
    objective among the pairs the relaxation or the allocation use.
    """
    weights = _rank_weights(inst)

    def value(solution) -> float:
        return rank_weighted_mass(inst, solution)

    if not funded:
        return start, 0.0, 0.0
    deadline = time.perf_counter() + time_limit
    lower = {r: inst.requests[r].minimum_mass for r in funded}
    coupling = (inst.budget, dict(inst.cap))
    best, objective = start, value(start)
    used = {r: {s for s, _ in start.get(r, [])} for r in funded}
    whole_at = {r: start[r][0][0] for r in funded if inst.whole[r]}
    bound = float("inf")
    relaxed_pairs: dict[int, set[int]] = {r: set() for r in funded}
    big: dict[int, set[int]] = {r: set() for r in funded}
    flow = _flow_bound(inst, funded)
    if flow is not None:
        bound, big = flow
        relaxed_pairs = {r: set(p) for r, p in big.items()}
    full = None
    if 2 * sum(len(inst.usable(r)) for r in funded) <= LP_BOUND_MODEL:
        full = build_model(inst, funded, lower, *coupling, "weighted", weights)
        relaxed = full.relaxation(0.3 * time_limit)
        if relaxed.status == 0:
            bound = min(bound, float(-1e-6 * relaxed.fun))
            n = full.n_div
            mass = np.concatenate(
                [relaxed.x[:n], relaxed.x[2 * n : 2 * n + len(full.pair_req) - n]]
            )
            relaxed_pairs = {r: set() for r in funded}
            big = {r: set() for r in funded}
            for k in np.flatnonzero(mass > 1e-6):
                r, s = int(full.pair_req[k]), int(full.pair_src[k])
                relaxed_pairs[r].add(s)
                if k < n and mass[k] >= inst.min_split:
                    big[r].add(s)
    if bound == float("inf"):
        notes.append("neither stage-2 relaxation finished; no bound is proven")
    big = {r: big[r] or used[r] for r in funded}
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
        solution = _with_fixed_portions(inst, funded, cuts, whole_at, min(left, 0.3 * time_limit))
        if solution is not None and value(solution) > objective:
            best, objective = solution, value(solution)
    small = full is not None and len(full.c) <= SMALL_MODEL
    left = deadline - time.perf_counter()
    if small and bound - objective > STAGE2_GAP * bound and left > 0.1:
        res = full.solve(min(0.5 * left, SMALL_MODEL_SECONDS), gap=STAGE2_GAP / 10)
        if res.x is not None and value(_apply_solution(inst, full, res.x)) > objective:
            best = _apply_solution(inst, full, res.x)
            objective = value(best)
    best = {r: list(p) for r, p in best.items()}
    _merge_portions(inst, best)
    left = deadline - time.perf_counter()
    if not small or left < 0.2:
        return best, objective, max(bound, objective)

    floor = objective * 1e6 * (1 - STAGE3_TOLERANCE)
    either = {r: relaxed_pairs[r] | used[r] | {s for s, _ in best[r]} for r in funded}
    splits = build_model(inst, funded, lower, *coupling, "splits", weights, either)
    splits.constraints.append(LinearConstraint(splits.weight_row[None, :], floor, np.inf))
    res3 = splits.solve(min(left, STAGE3_SECONDS), gap=1e-2)
    if res3.x is not None:
        fewer = _apply_solution(inst, splits, res3.x)
        count = sum(len(p) for p in fewer.values())
        if count < sum(len(p) for p in best.values()):
            best, objective = fewer, value(fewer)
    else:
        notes.append("stage 3 (fewest splits) found nothing in time; merged portions kept")
    return best, objective, max(bound, objective)


def _partial_reason(inst: Instance, r: int, alloc, used: np.ndarray, usage) -> _Refusal:
    req = inst.requests[r]
    short = {"short": format_mass(req.requested_mass - sum(m for _, m in alloc[r]))}
    total = sum(usage.values())
    if total >= inst.budget:
        return _Refusal(
            BUDGET,
            gettext_noop("the release budget is spent; %(short)s short of the request"),
            short,
        )
    if req.country in inst.cap and usage[req.country] >= inst.cap[req.country]:
        return _Refusal(
            COUNTRY_CAP,
            gettext_noop("the share cap of %(country)s is reached; %(short)s short"),
            {**short, "country": req.country},
        )
    free = inst.avail[inst.eligible[r]] - used[inst.eligible[r]]
    mine = {s for s, _ in alloc[r]}
    growable = any(
        f > 0 if int(s) in mine else f - inst.loss >= inst.min_split
        for s, f in zip(inst.eligible[r], free, strict=True)
    )
    if growable:
        return _Refusal(
            UNDETERMINED,
            gettext_noop("the solver stopped before proving this cut; %(short)s short"),
            short,
        )
    if any(f > 0 for f in free):
        return _Refusal(
            BELOW_MINIMUM,
            gettext_noop(
                "what is left in its sources is below the minimum split mass; %(short)s short"
            ),
            short,
        )
    eligible = set(map(int, inst.eligible[r]))
    if any(q != r and {p for p, _ in alloc[q]} & eligible for q in alloc):
        return _Refusal(
            SOURCE_EXHAUSTED,
            gettext_noop(
                "its eligible sources are used up by this and higher-priority requests; "
                "%(short)s short"
            ),
            short,
        )
    return _Refusal(
        RESERVE,
        gettext_noop("its eligible sources hold no more releasable mass; %(short)s short"),
        short,
    )


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


def _groupings(sources: list[int], merges: int, most: int) -> list[list[list[int]]] | None:
    """The partitions of ``sources`` into groups merging at most ``merges`` sources, fewest
    merges first; None when there are more than ``most``."""
    found: list[list[list[int]]] = []

    def extend(i: int, groups: list[list[int]], merged: int) -> bool:
        if i == len(sources):
            found.append([list(g) for g in groups])
            return len(found) <= most
        groups.append([sources[i]])
        if not extend(i + 1, groups, merged):
            return False
        groups.pop()
        if merged < merges:
            for g in groups:
                g.append(sources[i])
                if not extend(i + 1, groups, merged + 1):
                    return False
                g.pop()
        return True

    if not extend(0, [], 0):
        return None
    return sorted(found, key=len, reverse=True)


def _assign_to_groups(
    size: dict[int, int], options: dict[int, list[int]], capacity: list[int], time_limit: float
) -> tuple[str, dict[int, int] | None]:
    """Each request into one of its group options within the groups' capacities (CP-SAT)."""
    if any(not o for o in options.values()):
        return _INFEASIBLE, None
    model = cp_model.CpModel()
    chosen = {(r, i): model.new_bool_var(f"x{r}_{i}") for r, opts in options.items() for i in opts}
    for r, opts in options.items():
        model.add_exactly_one(chosen[r, i] for i in opts)
    for i, cap in enumerate(capacity):
        members = [(r, var) for (r, j), var in chosen.items() if j == i]
        if members:
            model.add(sum(size[r] * var for r, var in members) <= cap)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit, 0.05)
    # One worker: the same answer on every run, and the second core left to the database.
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return _INFEASIBLE, None
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return _TIMEOUT, None
    return _FEASIBLE, {r: i for (r, i), var in chosen.items() if solver.value(var)}


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
        if r in refusals:
            status, why = UNFUNDED, refusals[r]
        elif req.whole_unit or mass == req.requested_mass:
            status, why = FULL, _Refusal(None, FUNDED_IN_FULL)
        else:
            status, why = PARTIAL, _partial_reason(inst, r, alloc, used, usage)
        outcomes.append(
            RequestOutcome(
                req.id, r + 1, portions, mass, status, why.reason, why.detail, why.params, n
            )
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
            UNDETERMINED,
            gettext_noop("the solver hit its time limit before deciding whether it fits"),
        )
    if len(unit) == 1:
        refusals[unit[0]] = refusal
        return
    inst = state.inst
    blocking = []
    for r in unit:
        if not state.could_join([r]):
            blocking.append(r)
    for r in unit:
        if blocking and r not in blocking:
            ids = ", ".join(inst.requests[b].id for b in blocking)
            refusals[r] = _Refusal(
                PARTNER_UNFUNDED,
                gettext_noop(
                    "its proposal %(proposal)s is all-or-nothing and %(requests)s could not be "
                    "funded"
                ),
                {"proposal": inst.requests[r].proposal_id, "requests": ids},
            )
        else:
            refusals[r] = refusal


def funded_units(rnd: Round, outcomes: Sequence[RequestOutcome]) -> list[bool]:
    """Funded flag per decision unit in rank order, for lexicographic comparisons."""
    inst = Instance(rnd)
    funded = {o.request_id for o in outcomes if o.funded_mass > 0}
    return [inst.requests[unit[0]].id in funded for unit in rank_units(inst)]
