"""Greedy-by-rank baseline: what a committee does by hand.

Going down the ranking, each request is filled to its full requested mass from its eligible
sources, largest remaining source first (whole units take the largest free sample), within the
budget and its country's cap. A request that cannot reach its minimum is skipped; the requests of
an all-or-nothing proposal are taken together or rolled back together. Nothing is ever revisited,
so an early request can take the only source a later one could use: this is the gap the rank-rule
optimiser closes. Reasons here are coarse (the first limit hit), not proofs.
"""

from __future__ import annotations

import time

import numpy as np

from moonvault.allocation.messages import FUNDED_IN_FULL, gettext_noop

from .allocation import rank_units, rank_weighted_mass
from .model import (
    BUDGET,
    COUNTRY_CAP,
    FULL,
    PARTIAL,
    PARTNER_UNFUNDED,
    SOURCE_EXHAUSTED,
    UNFUNDED,
    AllocationResult,
    Instance,
    Portion,
    RequestOutcome,
    Round,
)

STOPPED = gettext_noop("greedy fill stopped by %(limit)s")


def _fill(inst: Instance, r: int, free: np.ndarray, taken: np.ndarray, room: int):
    """Portions for request ``r`` within ``room`` mass, or (None, reason)."""
    req = inst.requests[r]
    usable = inst.usable(r)
    if req.whole_unit:
        options = usable[~taken[usable]]
        fitting = options[inst.avail[options] <= room]
        if not len(fitting):
            return None, (SOURCE_EXHAUSTED if not len(options) else None)
        s = int(fitting[np.argmax(inst.avail[fitting])])
        return [(s, int(inst.avail[s]))], None
    want = min(req.requested_mass, room)
    got, portions = 0, []
    for s in usable[np.argsort(-free[usable], kind="stable")]:
        take = min(int(free[s]) - inst.loss, want - got)
        if take < inst.min_split:
            break
        portions.append((int(s), take))
        got += take
    if got < req.minimum_mass:
        return None, (SOURCE_EXHAUSTED if room >= req.minimum_mass else None)
    return portions, None


def greedy_allocation(rnd: Round) -> AllocationResult:
    t0 = time.perf_counter()
    inst = Instance(rnd)
    n = len(inst.requests)
    free = inst.avail.copy()
    taken = np.zeros(len(free), dtype=bool)
    usage = dict.fromkeys(inst.countries, 0)
    alloc: dict[int, list[tuple[int, int]]] = {}
    reasons: dict[int, tuple[str, str]] = {}
    cut: dict[int, str] = {}
    for unit in rank_units(inst):
        # Only the unit's own sources change, so undoing a unit restores just those.
        saved = dict(usage)
        journal: list[tuple[int, int, bool]] = []
        placed: dict[int, list[tuple[int, int]]] = {}
        failed = None
        for r in unit:
            req = inst.requests[r]
            budget_room = inst.budget - sum(usage.values())
            cap_room = inst.cap.get(req.country, budget_room) - usage[req.country]
            portions, reason = _fill(inst, r, free, taken, min(budget_room, cap_room))
            if portions is None:
                if reason is None:
                    reason = BUDGET if budget_room <= cap_room else COUNTRY_CAP
                failed = (r, reason)
                break
            placed[r] = portions
            if not req.whole_unit and min(budget_room, cap_room) < req.requested_mass:
                cut[r] = BUDGET if budget_room <= cap_room else COUNTRY_CAP
            for s, m in portions:
                journal.append((s, int(free[s]), bool(taken[s])))
                free[s] -= m if req.whole_unit else m + inst.loss
                taken[s] = True
                usage[req.country] += m
        if failed is None:
            alloc.update(placed)
            continue
        usage = saved
        for s, was_free, was_taken in reversed(journal):
            free[s], taken[s] = was_free, was_taken
        blocker, reason = failed
        for r in unit:
            if r == blocker or len(unit) == 1:
                reasons[r] = (reason, STOPPED, {"limit": reason.replace("_", " ")})
            else:
                reasons[r] = (
                    PARTNER_UNFUNDED,
                    gettext_noop("all-or-nothing partner %(request)s could not be filled"),
                    {"request": inst.requests[blocker].id},
                )
    outcomes = []
    for r, req in enumerate(inst.requests):
        portions = tuple(Portion(inst.source_ids[s], m) for s, m in sorted(alloc.get(r, [])))
        mass = sum(p.mass for p in portions)
        if r in reasons:
            status, (reason, text, params) = UNFUNDED, reasons[r]
        elif req.whole_unit or mass == req.requested_mass:
            status, reason, text, params = FULL, None, FUNDED_IN_FULL, {}
        else:
            reason = cut.get(r, SOURCE_EXHAUSTED)
            status, text, params = PARTIAL, STOPPED, {"limit": reason.replace("_", " ")}
        outcomes.append(
            RequestOutcome(req.id, r + 1, portions, mass, status, reason, text, params, n)
        )
    splits = sum(len(p) for r, p in alloc.items() if not inst.requests[r].whole_unit)
    objective = rank_weighted_mass(inst, alloc)
    return AllocationResult(
        outcomes=tuple(outcomes),
        funded_requests=len(alloc),
        funded_mass=sum(o.funded_mass for o in outcomes),
        splits=splits,
        handling_loss_mass=splits * inst.loss,
        rank_rule_exact=False,
        objective=objective,
        bound=objective,
        gap=0.0,
        solve_seconds=time.perf_counter() - t0,
        notes=("greedy baseline: nothing is optimised and no bound is computed",),
    )
