"""Seeded generators of realistic allocation rounds and reviewer-assignment instances.

Rounds: sources are subsamples of parent samples (splits of one rock or soil); a request targets
one parent, popular parents (Zipf) draw many requests, and its eligible sources are the parent's
subsamples of the matching kind (powder for divisible requests, chips or thin sections for whole
units). Requests come in proposals of 1-4; about one proposal in ten is all-or-nothing. Masses
are integer micrograms: powders around a gram, whole units 20 mg-2 g, requests 20 mg-1.5 g.

Assignment: proposals and reviewers carry keywords drawn around research topics; affinity is the
Jaccard index of the two keyword sets (mostly zero), with about 1 % of pairs in conflict.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from moonvault.allocation.optimizer import (
    AffinityTable,
    AssignmentProblem,
    Request,
    Reviewer,
    Round,
    Source,
)

MG = 1_000
G = 1_000_000
COUNTRIES = ("US", "CN", "DE", "JP", "FR", "GB", "IT", "IN", "CA", "AU", "CH", "KR")
COUNTRY_WEIGHTS = np.array([30, 22, 9, 8, 7, 7, 5, 4, 3, 2, 2, 1], dtype=float)
GROUPS = ("research", "public-display", "education")

ROUNDS = {
    # name: (requests, sources, subsamples per parent, budget share of demand, seed)
    "cnsa": (100, 50, 5, 0.5, 11),
    "cnsa-scarce": (100, 50, 5, 0.2, 12),
    "nasa": (2_000, 20_000, 10, 0.6, 21),
    "nasa-scarce": (2_000, 20_000, 10, 0.2, 22),
    "stress": (20_000, 100_000, 10, 0.5, 31),
}

ASSIGNMENTS = {
    # name: (proposals, reviewers, seed)
    "assign-500x150": (500, 150, 41),
    "assign-3000x1000": (3_000, 1_000, 42),
    "assign-10000x3000": (10_000, 3_000, 43),
}


def make_round(
    n_requests: int, n_sources: int, per_parent: int, budget_share: float, seed: int
) -> Round:
    rng = np.random.default_rng(seed)
    n_parents = max(n_sources // per_parent, 1)
    mission = ["A11", "A12", "A14", "A15", "A16", "A17", "CE5"]
    sources = []
    by_parent: list[tuple[list[str], list[str]]] = [([], []) for _ in range(n_parents)]
    for i in range(n_sources):
        parent = i % n_parents
        whole = rng.random() < 0.3
        if whole:
            mass = int(rng.uniform(20 * MG, 2 * G))
        else:
            mass = int(rng.lognormal(np.log(0.8 * G), 0.8))
        sid = f"S{i:06d}"
        group = f"{mission[parent % len(mission)]}-{GROUPS[int(rng.integers(0, 3)) // 2]}"
        sources.append(Source(sid, mass, group))
        by_parent[parent][1 if whole else 0].append(sid)
    popularity = 1.0 / np.arange(1, n_parents + 1) ** 0.8
    # Inverse-CDF draws consume the stream exactly as ``rng.choice(n, p=...)`` does, without
    # re-validating the probabilities on every call (the stress round makes 20,000 draws).
    parent_cdf = np.cumsum(popularity / popularity.sum())
    parent_cdf /= parent_cdf[-1]
    country_cdf = np.cumsum(COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    country_cdf /= country_cdf[-1]
    requests = []
    i = 0
    proposal = 0
    while i < n_requests:
        size = min(int(rng.integers(1, 5)), n_requests - i)
        aon = rng.random() < 0.1 and size > 1
        country = COUNTRIES[int(country_cdf.searchsorted(rng.random(), side="right"))]
        for _ in range(size):
            parent = int(parent_cdf.searchsorted(rng.random(), side="right"))
            powders, wholes = by_parent[parent]
            whole = bool(wholes) and (not powders or rng.random() < 0.25)
            pool = wholes if whole else powders
            eligible = tuple(rng.choice(pool, size=min(len(pool), 6), replace=False).tolist())
            requested = int(rng.lognormal(np.log(0.25 * G), 0.9))
            requested = min(max(requested, 20 * MG), int(1.5 * G))
            minimum = int(requested * rng.uniform(0.3, 0.8))
            requests.append(
                Request(
                    id=f"R{i:06d}",
                    proposal_id=f"P{proposal:05d}",
                    country=country,
                    sources=eligible,
                    requested_mass=0 if whole else requested,
                    minimum_mass=0 if whole else minimum,
                    whole_unit=whole,
                    all_or_nothing=aon,
                )
            )
            i += 1
        proposal += 1
    # Ranks are the committee's scores, not submission order.
    order = rng.permutation(len(requests))
    ranked = [requests[j] for j in order]
    src_mass = {s.id: s.available_mass for s in sources}
    demand = sum(
        max(src_mass[s] for s in r.sources) if r.whole_unit else r.requested_mass for r in ranked
    )
    return Round(
        requests=tuple(ranked),
        sources=tuple(sources),
        budget=int(demand * budget_share),
        country_caps={"US": 0.4, "CN": 0.4},
        handling_loss=2 * MG,
        min_split_mass=10 * MG,
    )


def round_by_name(name: str) -> Round:
    return make_round(*ROUNDS[name])


def make_assignment(n_prop: int, n_rev: int, seed: int, k: int = 3) -> AssignmentProblem:
    rng = np.random.default_rng(seed)
    vocab, topics = 600, 40
    topic_words = [rng.choice(vocab, size=30, replace=False) for _ in range(topics)]

    def keywords(n_items: int, low: int, high: int) -> sparse.csr_matrix:
        rows, cols = [], []
        for i in range(n_items):
            topic = topic_words[int(rng.integers(topics))]
            n_kw = int(rng.integers(low, high + 1))
            words = set(rng.choice(topic, size=n_kw, replace=False).tolist())
            words |= set(rng.choice(vocab, size=2, replace=False).tolist())
            rows += [i] * len(words)
            cols += sorted(words)
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_items, vocab))

    pk, rk = keywords(n_prop, 3, 6), keywords(n_rev, 4, 9)
    inter = (pk @ rk.T).tocoo()
    sizes_p, sizes_r = np.asarray(pk.sum(axis=1)).ravel(), np.asarray(rk.sum(axis=1)).ravel()
    union = sizes_p[inter.row] + sizes_r[inter.col] - inter.data
    affinity = AffinityTable(
        proposal_index=inter.row.astype(np.int64),
        reviewer_index=inter.col.astype(np.int64),
        value=np.round(inter.data / union, 4),
    )
    mean_load = k * n_prop / n_rev
    reviewers = tuple(
        Reviewer(
            f"V{j:05d}",
            max_load=int(np.ceil(mean_load * rng.uniform(1.1, 1.6))),
            min_load=int(rng.random() < 0.2),
        )
        for j in range(n_rev)
    )
    proposals = tuple(f"P{i:05d}" for i in range(n_prop))
    n_conf = int(0.01 * n_prop * n_rev)
    cp = rng.integers(0, n_prop, size=n_conf)
    cr = rng.integers(0, n_rev, size=n_conf)
    conflicts = frozenset((proposals[p], reviewers[r].id) for p, r in zip(cp, cr, strict=True))
    return AssignmentProblem(proposals, reviewers, k, affinity, conflicts)


def assignment_by_name(name: str) -> AssignmentProblem:
    return make_assignment(*ASSIGNMENTS[name])
