"""Data types of an allocation round and the exact integer model shared by the allocators.

Masses are integers in micrograms. A divisible request (powder, regolith) takes portions of its
eligible sources; a whole-unit request (thin section, rock fragment, particle) takes one eligible
source entirely. Every portion of a divisible request costs ``handling_loss`` micrograms of the
source on top of the portion itself; the loss is material destroyed in handling, not released to
anyone, so it is charged to the source's available mass but not to the release budget or to a
country's share. A portion must weigh at least ``min_split_mass``. The rule that a non-empty
remainder left in a source should also weigh at least ``min_split_mass`` is not enforced: it would
make every source a disjunction (emptied or at least the minimum left) and the curators can trim
leftovers when cutting.

``build_model`` writes a set of requests as a MILP for HiGHS: integer portion masses ``y``,
binary split indicators ``z`` (``min_split_mass * z <= y <= cap * z``) and binary whole-unit
choices ``w``. ``verify_allocation`` re-checks any answer in exact integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from moonvault.allocation.messages import RANKED

FULL = "full"
PARTIAL = "partial"
UNFUNDED = "unfunded"


BUDGET = "budget"
RESERVE = "reserve"
SOURCE_EXHAUSTED = "source_exhausted"
COUNTRY_CAP = "country_cap"
BELOW_MINIMUM = "below_minimum"
PARTNER_UNFUNDED = "partner_unfunded"
UNDETERMINED = "undetermined"


@dataclass(frozen=True)
class Source:
    id: str
    available_mass: int
    group: str = ""


@dataclass(frozen=True)
class Request:
    id: str
    proposal_id: str
    country: str
    sources: tuple[str, ...]
    requested_mass: int = 0
    minimum_mass: int = 0
    whole_unit: bool = False
    all_or_nothing: bool = False


@dataclass(frozen=True)
class Round:
    """One allocation round; ``requests`` are in the committee's rank order, best first."""

    requests: tuple[Request, ...]
    sources: tuple[Source, ...]
    budget: int
    country_caps: Mapping[str, float] = field(default_factory=dict)
    handling_loss: int = 0
    min_split_mass: int = 0


@dataclass(frozen=True)
class Portion:
    source_id: str
    mass: int


@dataclass(frozen=True)
class RequestOutcome:
    request_id: str
    rank: int
    portions: tuple[Portion, ...]
    funded_mass: int
    status: str
    reason: str | None
    # Why: an English message marked for translation, and the values it names; pages show it
    # in the reader's language, `explanation` in English.
    detail: str
    params: Mapping[str, object]
    ranked_of: int

    @property
    def explanation(self) -> str:
        return RANKED % {"rank": self.rank, "of": self.ranked_of, "why": self.detail % self.params}


@dataclass(frozen=True)
class AllocationResult:
    outcomes: tuple[RequestOutcome, ...]
    funded_requests: int
    funded_mass: int
    splits: int
    handling_loss_mass: int
    rank_rule_exact: bool
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    notes: tuple[str, ...] = ()


def format_mass(ug: int | float) -> str:
    value = abs(ug)
    if value >= 1_000_000:
        return f"{ug / 1_000_000:.3g} g"
    if value >= 1_000:
        return f"{ug / 1_000:.3g} mg"
    return f"{int(ug)} µg"


class Instance:
    """Index view of a round: arrays by source, eligible source indices by request."""

    def __init__(self, rnd: Round):
        self.round = rnd
        self.requests = rnd.requests
        self.source_ids = [s.id for s in rnd.sources]
        index = {sid: i for i, sid in enumerate(self.source_ids)}
        if len(index) != len(self.source_ids):
            raise ValueError("source ids must be unique")
        if len({r.id for r in rnd.requests}) != len(rnd.requests):
            raise ValueError("request ids must be unique")
        self.avail = np.array([s.available_mass for s in rnd.sources], dtype=np.int64)
        if np.any(self.avail < 0):
            raise ValueError("available masses must be non-negative")
        self.group = [s.group for s in rnd.sources]
        self.loss = int(rnd.handling_loss)
        self.min_split = max(int(rnd.min_split_mass), 1)
        self.budget = int(rnd.budget)
        self.eligible: list[np.ndarray] = []
        aon: dict[str, bool] = {}
        for r in rnd.requests:
            try:
                idx = sorted({index[s] for s in r.sources})
            except KeyError as exc:
                raise ValueError(f"request {r.id} names unknown source {exc}") from None
            self.eligible.append(np.array(idx, dtype=np.int64))
            if not r.whole_unit and not 0 < r.minimum_mass <= r.requested_mass:
                raise ValueError(f"request {r.id} needs 0 < minimum mass <= requested mass")
            if aon.setdefault(r.proposal_id, r.all_or_nothing) != r.all_or_nothing:
                raise ValueError(
                    f"proposal {r.proposal_id} is all-or-nothing for some requests only"
                )
        self.countries = sorted({r.country for r in rnd.requests})
        self.cap = {
            c: int(np.floor(frac * self.budget + 1e-9))
            for c, frac in rnd.country_caps.items()
            if c in self.countries
        }
        country_index = {c: i for i, c in enumerate(self.countries)}
        self.whole = np.array([r.whole_unit for r in rnd.requests], dtype=bool)
        self.requested = np.array([r.requested_mass for r in rnd.requests], dtype=np.int64)
        self.minimum = np.array([r.minimum_mass for r in rnd.requests], dtype=np.int64)
        self.country = np.array([country_index[r.country] for r in rnd.requests], dtype=np.int64)
        self._usable = [self._compute_usable(r) for r in range(len(rnd.requests))]
        self._lower = [self._compute_lower(r) for r in range(len(rnd.requests))]

    def _compute_usable(self, r: int) -> np.ndarray:
        el = self.eligible[r]
        if self.whole[r]:
            return el[self.avail[el] > 0]
        return el[self.avail[el] - self.loss >= self.min_split]

    def _compute_lower(self, r: int) -> int:
        if not self.whole[r]:
            return max(int(self.minimum[r]), self.min_split)
        usable = self._usable[r]
        return int(self.avail[usable].min()) if len(usable) else 0

    def usable(self, r: int) -> np.ndarray:
        """Eligible sources a request can take anything from at all (read-only)."""
        return self._usable[r]

    def lower_mass(self, r: int) -> int:
        """Smallest mass request ``r`` can be funded with (whole units: smallest source).

        A divisible request has at least one portion, so never less than the minimum split mass.
        """
        return self._lower[r]


@dataclass
class Model:
    """A MILP over some requests plus the map back from variables to (request, source)."""

    c: np.ndarray
    constraints: list[LinearConstraint]
    integrality: np.ndarray
    bounds: Bounds
    pair_req: np.ndarray
    pair_src: np.ndarray
    n_div: int
    weight_row: np.ndarray

    def solve(self, time_limit: float, gap: float = 1e-4):
        return milp(
            self.c,
            constraints=self.constraints,
            integrality=self.integrality,
            bounds=self.bounds,
            options={"time_limit": max(time_limit, 0.05), "mip_rel_gap": gap},
        )

    def one_portion_cut(self) -> LinearConstraint:
        """Every divisible request in the model has at least one portion (a valid inequality
        that makes the LP relaxation charge at least one handling loss per request)."""
        n = self.n_div
        rows = np.unique(self.pair_req[:n], return_inverse=True)[1]
        a = sparse.csr_matrix(
            (np.ones(n), (rows, n + np.arange(n))),
            shape=(int(rows.max(initial=-1)) + 1, len(self.c)),
        )
        return LinearConstraint(a, 1.0, np.inf)

    def relaxation(self, time_limit: float):
        return milp(
            self.c,
            constraints=[*self.constraints, self.one_portion_cut()],
            bounds=self.bounds,
            options={"time_limit": max(time_limit, 0.05)},
        )

    def portions(self, x: np.ndarray) -> dict[int, list[tuple[int, int]]]:
        """Round a solution into integer portions per request."""
        n = self.n_div
        mass = np.concatenate(
            [np.round(x[:n]), np.round(x[2 * n : 2 * n + len(self.pair_req) - n])]
        )
        out: dict[int, list[tuple[int, int]]] = {int(r): [] for r in np.unique(self.pair_req)}
        for k in np.flatnonzero(mass > 0.5):
            r, s = int(self.pair_req[k]), int(self.pair_src[k])
            out[r].append((s, int(mass[k]) if k < n else -1))
        return out


def build_model(
    inst: Instance,
    reqs: Sequence[int],
    lower: Mapping[int, int],
    budget: int | None,
    caps: Mapping[str, int] | None,
    objective: str,
    weights: np.ndarray | None = None,
    allowed: Mapping[int, set[int]] | None = None,
    virtual: tuple[np.ndarray, int] | None = None,
) -> Model:
    """MILP for requests ``reqs`` on fresh sources.

    ``lower[r]`` is the least mass of divisible request ``r`` (its minimum in the rank rule).
    ``objective`` is "none" (feasibility), "mass" (least mass released), "weighted"
    (most rank-weighted mass, ``weights`` indexed by request) or "splits" (fewest portions).
    ``virtual`` (sources, least mass) adds a divisible request, index -1 in ``pair_req``, that
    may draw on those sources under the same split rules and counts against no budget or cap.
    Whole-unit variables carry a sentinel mass -1 in ``Model.portions``: the mass is the source's.
    ``allowed`` restricts the sources each request may use.
    """
    d_req, d_src, w_req, w_src = [], [], [], []
    for r in reqs:
        usable = inst.usable(r)
        if allowed is not None:
            usable = usable[np.isin(usable, list(allowed[r]))]
        if inst.whole[r]:
            w_req.append(np.full(len(usable), r))
            w_src.append(usable)
        else:
            d_req.append(np.full(len(usable), r))
            d_src.append(usable)
    if virtual is not None:
        ok = virtual[0][inst.avail[virtual[0]] - inst.loss >= inst.min_split]
        d_req.append(np.full(len(ok), -1))
        d_src.append(ok)
    empty = np.zeros(0, dtype=np.int64)
    d_req = np.concatenate(d_req).astype(np.int64) if d_req else empty
    d_src = np.concatenate(d_src).astype(np.int64) if d_src else empty
    w_req = np.concatenate(w_req).astype(np.int64) if w_req else empty
    w_src = np.concatenate(w_src).astype(np.int64) if w_src else empty
    nd, nw = len(d_req), len(w_req)
    real = d_req >= 0
    # One extra variable fixed at 0 keeps the model well-formed when no pair is usable.
    nvar = 2 * nd + nw + 1
    y, z, w = np.arange(nd), nd + np.arange(nd), 2 * nd + np.arange(nw)
    req_mass = np.where(real, inst.requested[d_req], inst.avail.max(initial=0)).astype(float)
    cap_y = np.minimum(inst.avail[d_src] - inst.loss, req_mass)
    w_mass = inst.avail[w_src].astype(float)

    rows, cols, vals, lo, hi = [], [], [], [], []
    n_rows = 0

    def add_rows(row_ids, col_ids, coef, row_lo, row_hi):
        nonlocal n_rows
        rows.append(np.asarray(row_ids) + n_rows)
        cols.append(np.asarray(col_ids))
        vals.append(np.asarray(coef, dtype=float))
        lo.append(np.asarray(row_lo, dtype=float))
        hi.append(np.asarray(row_hi, dtype=float))
        n_rows += len(row_lo)

    srcs = np.unique(np.concatenate([d_src, w_src]))
    s_row = np.searchsorted(srcs, d_src)
    sw_row = np.searchsorted(srcs, w_src)
    add_rows(
        np.concatenate([s_row, s_row, sw_row]),
        np.concatenate([y, z, w]),
        np.concatenate([np.ones(nd), np.full(nd, float(inst.loss)), w_mass]),
        np.full(len(srcs), -np.inf),
        inst.avail[srcs],
    )
    link = np.arange(nd)
    both = np.concatenate([link, link])
    add_rows(
        both,
        np.concatenate([y, z]),
        np.concatenate([np.ones(nd), np.full(nd, -float(inst.min_split))]),
        np.zeros(nd),
        np.full(nd, np.inf),
    )
    add_rows(
        both,
        np.concatenate([y, z]),
        np.concatenate([np.ones(nd), -cap_y]),
        np.full(nd, -np.inf),
        np.zeros(nd),
    )
    div, d_row = np.unique(d_req, return_inverse=True)
    div_lo = np.array([lower[int(r)] if r >= 0 else virtual[1] for r in div], dtype=float)
    div_hi = np.where(div >= 0, inst.requested[div], np.inf)
    add_rows(d_row, y, np.ones(nd), div_lo, div_hi)
    whole, wr_row = np.unique(w_req, return_inverse=True)
    reqs_arr = np.asarray(list(reqs), dtype=np.int64)
    present = np.concatenate([div, whole])
    if np.any(~np.isin(reqs_arr, present)):
        # A request without any usable source makes the model infeasible; one empty row says so.
        add_rows(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [], [1.0], [1.0])
    add_rows(wr_row, w, np.ones(nw), np.ones(len(whole)), np.ones(len(whole)))
    released = np.concatenate([y[real], w])
    released_mass = np.concatenate([np.ones(int(real.sum())), w_mass])
    if budget is not None:
        add_rows(
            np.zeros(len(released), dtype=np.int64), released, released_mass, [-np.inf], [budget]
        )
    if caps:
        country = np.concatenate([inst.country[d_req[real]], inst.country[w_req]])
        for name, cap in caps.items():
            mask = country == inst.countries.index(name)
            if mask.any():
                add_rows(
                    np.zeros(int(mask.sum()), dtype=np.int64),
                    released[mask],
                    released_mass[mask],
                    [-np.inf],
                    [cap],
                )

    a = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, nvar),
    )
    weight_row = np.zeros(nvar)
    if weights is not None:
        weight_row[y[real]] = weights[d_req[real]]
    c = np.zeros(nvar)
    if objective == "mass":
        c[y[real]] = 1.0
        c[w] = w_mass
    elif objective == "weighted":
        c = -weight_row
    elif objective == "splits":
        c[z] = 1.0
    integrality = np.ones(nvar)
    upper = np.concatenate([np.maximum(cap_y, 0), np.ones(nd), np.ones(nw), [0.0]])
    return Model(
        c=c,
        constraints=[LinearConstraint(a, np.concatenate(lo), np.concatenate(hi))],
        integrality=integrality,
        bounds=Bounds(np.zeros(nvar), upper),
        pair_req=np.concatenate([d_req, w_req]),
        pair_src=np.concatenate([d_src, w_src]),
        n_div=nd,
        weight_row=weight_row,
    )


def verify_allocation(rnd: Round, outcomes: Sequence[RequestOutcome]) -> list[str]:
    """Every rule the round imposes, checked in integers; returns the violations found."""
    problems: list[str] = []
    src = {s.id: s for s in rnd.sources}
    used = dict.fromkeys(src, 0)
    whole_taken: dict[str, str] = {}
    by_id = {o.request_id: o for o in outcomes}
    country_mass: dict[str, int] = {}
    total = 0
    min_split = max(rnd.min_split_mass, 1)
    for req in rnd.requests:
        o = by_id.get(req.id)
        if o is None:
            problems.append(f"{req.id}: no outcome")
            continue
        ids = [p.source_id for p in o.portions]
        if len(ids) != len(set(ids)):
            problems.append(f"{req.id}: a source is used twice")
        if any(i not in req.sources for i in ids):
            problems.append(f"{req.id}: uses an ineligible source")
        if any(not isinstance(p.mass, int) or p.mass <= 0 for p in o.portions):
            problems.append(f"{req.id}: non-integral or empty portion")
        mass = sum(p.mass for p in o.portions)
        if mass != o.funded_mass:
            problems.append(f"{req.id}: funded mass does not add up")
        if req.whole_unit:
            if o.portions:
                p = o.portions[0]
                if len(o.portions) != 1 or p.mass != src[p.source_id].available_mass:
                    problems.append(f"{req.id}: a whole unit must take exactly one full source")
                whole_taken.setdefault(p.source_id, req.id)
                used[p.source_id] += p.mass
            expected = FULL if o.portions else UNFUNDED
        else:
            for p in o.portions:
                if p.mass < min_split:
                    problems.append(f"{req.id}: portion below the minimum split mass")
                used[p.source_id] += p.mass + rnd.handling_loss
            if mass and not req.minimum_mass <= mass <= req.requested_mass:
                problems.append(f"{req.id}: funded mass outside [minimum, requested]")
            expected = UNFUNDED if not mass else FULL if mass == req.requested_mass else PARTIAL
        if o.status != expected:
            problems.append(f"{req.id}: status {o.status}, expected {expected}")
        total += mass
        country_mass[req.country] = country_mass.get(req.country, 0) + mass
    for sid, amount in used.items():
        if amount > src[sid].available_mass:
            problems.append(f"source {sid} over-used by {amount - src[sid].available_mass} µg")
        if sid in whole_taken and amount != src[sid].available_mass:
            problems.append(f"source {sid} is a whole unit shared with other requests")
    if total > rnd.budget:
        problems.append(f"budget exceeded by {total - rnd.budget} µg")
    for country, frac in rnd.country_caps.items():
        cap = int(np.floor(frac * rnd.budget + 1e-9))
        if country_mass.get(country, 0) > cap:
            problems.append(f"country {country} exceeds its cap")
    funded_by_proposal: dict[str, set[bool]] = {}
    for req in rnd.requests:
        if req.all_or_nothing and req.id in by_id:
            funded_by_proposal.setdefault(req.proposal_id, set()).add(by_id[req.id].funded_mass > 0)
    for proposal, states in funded_by_proposal.items():
        if len(states) > 1:
            problems.append(f"all-or-nothing proposal {proposal} is partly funded")
    return problems
