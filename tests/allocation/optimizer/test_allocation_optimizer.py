"""Mass allocation on hand-made rounds with known answers, one rule at a time."""

from moonvault.allocation.optimizer import (
    Request,
    Round,
    Source,
    greedy_allocation,
    solve_allocation,
    verify_allocation,
)


def powder(rid, sources, requested, minimum, *, proposal=None, country="CN", aon=False):
    return Request(rid, proposal or rid, country, tuple(sources), requested, minimum, False, aon)


def whole(rid, sources, *, country="CN", proposal=None, aon=False):
    return Request(rid, proposal or rid, country, tuple(sources), 0, 0, True, aon)


def solve(rnd):
    result = solve_allocation(rnd, time_limit=30)
    assert verify_allocation(rnd, result.outcomes) == []
    return result, {o.request_id: o for o in result.outcomes}


def test_whole_units_are_never_split():
    rnd = Round(
        requests=(whole("thin", ["a", "b"]), powder("dust", ["a"], 400, 100)),
        sources=(Source("a", 500), Source("b", 900)),
        budget=10_000,
    )
    _, out = solve(rnd)
    [portion] = out["thin"].portions
    # Taking "a" whole would starve the powder request, so the thin section takes all of "b".
    assert (portion.source_id, portion.mass) == ("b", 900)
    assert out["dust"].funded_mass == 400


def test_a_higher_ranked_request_is_never_displaced_by_lower_ones():
    rnd = Round(
        requests=(
            powder("first", ["a"], 800, 600),
            powder("second", ["a"], 300, 300),
            powder("third", ["a"], 300, 300),
        ),
        sources=(Source("a", 1000),),
        budget=10_000,
    )
    _, out = solve(rnd)
    # Funding "second" and "third" would deliver more requests, but "first" outranks both.
    assert out["first"].funded_mass >= 600
    assert out["second"].status == "partial" or out["second"].funded_mass == 300
    assert out["third"].status == "unfunded"
    assert out["third"].reason == "source_exhausted"
    assert "ranked 3 of 3" in out["third"].explanation


def test_the_optimiser_funds_a_later_request_that_greedy_blocks():
    rnd = Round(
        requests=(powder("flexible", ["a", "b"], 500, 500), powder("fixed", ["a"], 500, 500)),
        sources=(Source("a", 500), Source("b", 500)),
        budget=10_000,
    )
    _, out = solve(rnd)
    greedy = {o.request_id: o for o in greedy_allocation(rnd).outcomes}
    assert greedy["fixed"].status == "unfunded"
    assert out["flexible"].portions[0].source_id == "b"
    assert out["fixed"].funded_mass == 500


def test_an_all_or_nothing_proposal_is_funded_entirely_or_not_at_all():
    rnd = Round(
        requests=(
            powder("p1-a", ["a"], 300, 300, proposal="p1", aon=True),
            powder("other", ["b"], 500, 500),
            powder("p1-b", ["b"], 300, 300, proposal="p1", aon=True),
        ),
        sources=(Source("a", 1000), Source("b", 600)),
        budget=10_000,
    )
    _, out = solve(rnd)
    # p1 decides at rank 1 as a unit and takes 300 of "b", which leaves too little for "other".
    assert out["p1-a"].funded_mass == 300 and out["p1-b"].funded_mass == 300
    assert out["other"].status == "unfunded"

    starved = Round(rnd.requests, (Source("a", 1000), Source("b", 200)), budget=10_000)
    _, out = solve(starved)
    assert out["p1-a"].status == out["p1-b"].status == "unfunded"
    assert out["p1-a"].reason == "partner_unfunded" and out["p1-b"].reason == "reserve"


def test_the_budget_is_never_exceeded_and_binds_with_its_reason():
    rnd = Round(
        requests=(powder("r1", ["a"], 600, 400), powder("r2", ["b"], 600, 400)),
        sources=(Source("a", 1000), Source("b", 1000)),
        budget=700,
    )
    result, out = solve(rnd)
    assert result.funded_mass == 600
    assert out["r2"].reason == "budget"
    assert "budget" in out["r2"].explanation


def test_a_country_cap_is_never_exceeded():
    rnd = Round(
        requests=(
            powder("us1", ["a"], 400, 300, country="US"),
            powder("us2", ["b"], 400, 300, country="US"),
            powder("cn1", ["c"], 400, 300, country="CN"),
        ),
        sources=(Source("a", 1000), Source("b", 1000), Source("c", 1000)),
        budget=1000,
        country_caps={"US": 0.5},
    )
    result, out = solve(rnd)
    us = sum(o.funded_mass for o in result.outcomes if o.request_id.startswith("us"))
    assert us <= 500
    assert out["us2"].reason == "country_cap"
    assert out["cn1"].funded_mass == 400


def test_handling_loss_counts_against_the_source_but_not_the_budget():
    rnd = Round(
        requests=(powder("r1", ["a", "b"], 1000, 500),),
        sources=(Source("a", 600), Source("b", 600)),
        budget=1000,
        handling_loss=50,
    )
    result, out = solve(rnd)
    # Two portions lose 50 each: at most 550 + 550 = 1000 delivered, exactly the budget.
    assert out["r1"].funded_mass == 1000
    assert result.handling_loss_mass == 100


def test_portions_respect_the_minimum_split_mass():
    rnd = Round(
        requests=(powder("r1", ["a", "b"], 250, 250),),
        sources=(Source("a", 230), Source("b", 40)),
        budget=1000,
        min_split_mass=50,
    )
    _, out = solve(rnd)
    # "b" could add 20 but not 50, so 230 is the most, below the minimum of 250.
    assert out["r1"].status == "unfunded"
    assert out["r1"].reason == "reserve"


def test_stage_three_takes_the_mass_from_as_few_sources_as_possible():
    rnd = Round(
        requests=(powder("r1", ["a", "b", "c"], 300, 300),),
        sources=(Source("a", 200), Source("b", 200), Source("c", 400)),
        budget=1000,
    )
    result, out = solve(rnd)
    assert [p.source_id for p in out["r1"].portions] == ["c"]
    assert result.splits == 1


def test_stage_two_gives_contested_mass_to_the_higher_rank():
    rnd = Round(
        requests=(powder("hi", ["a"], 800, 200), powder("lo", ["a"], 800, 200)),
        sources=(Source("a", 1000),),
        budget=10_000,
    )
    _, out = solve(rnd)
    assert out["hi"].funded_mass == 800 and out["lo"].funded_mass == 200
    assert out["lo"].status == "partial" and out["lo"].reason == "source_exhausted"


def test_masses_in_every_outcome_are_integers():
    rnd = Round(
        requests=(powder("r1", ["a", "b"], 1001, 333), powder("r2", ["b"], 777, 111)),
        sources=(Source("a", 501), Source("b", 999)),
        budget=1500,
        handling_loss=7,
        min_split_mass=3,
    )
    result, _ = solve(rnd)
    for outcome in result.outcomes:
        assert isinstance(outcome.funded_mass, int)
        assert all(isinstance(p.mass, int) for p in outcome.portions)


def test_greedy_fills_from_the_largest_source_first():
    rnd = Round(
        requests=(powder("r1", ["a", "b"], 700, 100),),
        sources=(Source("a", 300), Source("b", 500)),
        budget=10_000,
    )
    [outcome] = greedy_allocation(rnd).outcomes
    assert [(p.source_id, p.mass) for p in outcome.portions] == [("a", 200), ("b", 500)]
