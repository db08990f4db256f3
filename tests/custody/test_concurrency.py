"""Curators acting at the same moment never take the same microgram twice.

Each thread has its own database connection and commits for real, so these tests run outside the
per-test transaction. PostgreSQL serializes the splits with row locks; SQLite with IMMEDIATE
transactions that take the write lock at BEGIN.
"""

import threading

import pytest
from django.db import connection

from moonvault.catalog.models import Sample
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.core.errors import Conflict
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

LOSS = 1_000
PORTION = GRAM - LOSS  # with its handling loss, each split takes exactly 1 g


pytestmark = pytest.mark.django_db(transaction=True)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's own serialization of writers"
)


def run_together(count, work):
    """Start `count` threads at the same moment; each returns what `work(i)` returned or raised."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a split is still waiting: deadlock"
    return results


def race_for(parent, threads):
    def split(_):
        return sample_split(
            actor=None, sample_id=parent.id, children=[ChildSpec(PORTION)], loss_ug=LOSS
        )

    results = run_together(threads, split)
    made = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if not isinstance(r, list)]
    return made, refused


def assert_race_outcome(parent, made, refused, *, fits, held_before):
    assert len(made) == fits
    for error in refused:
        assert type(error) is Conflict, repr(error)
        assert error.problems[0].field == "children"
    parent.refresh_from_db()
    assert parent.mass_ug == held_before - fits * GRAM >= 0
    children = Sample.objects.filter(parent=parent)
    assert sum(c.mass_ug for c in children) + fits * LOSS == fits * GRAM <= held_before
    assert sorted(c.identifier for c in children) == sorted(
        f"{parent.identifier}-{n}" for n in range(1, fits + 1)
    )
    report = custody_verify()
    assert report.ok, report.problems
    assert report.events == 1 + 2 * fits


@pytest.mark.postgres
def test_sixteen_curators_splitting_one_sample_get_exactly_what_it_holds(receive, mission_ce5):
    held = 10 * GRAM + GRAM // 2
    parent = receive("CE5C0400YJFM00505", mission_ce5, held)
    made, refused = race_for(parent, 16)
    assert_race_outcome(parent, made, refused, fits=10, held_before=held)


@pytest.mark.postgres
def test_concurrent_splits_of_different_samples_all_succeed(receive, mission_ce5, mission_a17):
    samples = [
        receive(f"CE5C0400YJFM0050{i}", mission_ce5 if i % 2 else mission_a17, 2 * GRAM)
        for i in range(8)
    ]

    def split(i):
        return sample_split(
            actor=None, sample_id=samples[i].id, children=[ChildSpec(PORTION)], loss_ug=LOSS
        )

    results = run_together(len(samples), split)
    assert all(isinstance(r, list) for r in results), results
    for sample in samples:
        sample.refresh_from_db()
        assert sample.mass_ug == GRAM
    assert custody_verify().ok


@sqlite_only
def test_sqlite_immediate_transactions_serialize_two_splits_of_one_sample(receive, mission_ce5):
    held = GRAM + GRAM // 2
    parent = receive("CE5C0400YJFM00505", mission_ce5, held)
    made, refused = race_for(parent, 2)
    assert_race_outcome(parent, made, refused, fits=1, held_before=held)


@sqlite_only
def test_sqlite_serializes_eight_curators_splitting_one_sample(receive, mission_ce5):
    held = 5 * GRAM + GRAM // 2
    parent = receive("CE5C0400YJFM00505", mission_ce5, held)
    made, refused = race_for(parent, 8)
    assert_race_outcome(parent, made, refused, fits=5, held_before=held)
