"""Streaming reads fetch the next batch in a thread while the caller works on the current one."""

import threading

import pytest

from moonvault.custody.selectors import event_batches, ledger_head, read_ahead


def batches_of(lists):
    """A fetch function that hands out `lists`, then empty lists, recording who called it."""
    pending = iter(lists)
    callers = []

    def fetch():
        callers.append(threading.current_thread())
        return next(pending, [])

    return fetch, callers


def test_the_batches_arrive_in_order_and_are_fetched_by_another_thread():
    fetch, callers = batches_of([[1, 2], [3], [4, 5, 6]])
    before = set(threading.enumerate())
    assert list(read_ahead(fetch)) == [[1, 2], [3], [4, 5, 6]]
    assert threading.current_thread() not in callers
    assert set(threading.enumerate()) <= before


def test_an_error_of_the_fetch_is_raised_to_the_caller_after_the_batches_before_it():
    calls = iter([[1], [2]])

    def fetch():
        batch = next(calls, None)
        if batch is None:
            raise ValueError("the connection was lost")
        return batch

    seen = []
    with pytest.raises(ValueError, match="the connection was lost"):
        for batch in read_ahead(fetch):
            seen.append(batch)
    assert seen == [[1], [2]]


def test_a_caller_that_stops_early_ends_the_thread_without_fetching_everything():
    fetch, callers = batches_of([[n] for n in range(1_000)])
    before = set(threading.enumerate())
    batches = read_ahead(fetch, depth=2)
    assert next(batches) == [0]
    batches.close()
    assert set(threading.enumerate()) <= before
    # The batch handed over, up to `depth` waiting, and at most one being fetched.
    assert len(callers) <= 4


@pytest.mark.django_db
def test_the_ledger_streams_through_the_caller_s_transaction(receive, mission_ce5):
    """Rows written in the test's own uncommitted transaction are seen: the thread reads through
    the caller's cursor, not a connection of its own."""
    for n in range(5):
        receive(f"CE5C{n:04d}", mission_ce5, 1_000)
    rows = [row for batch in event_batches(batch=2) for row in batch]
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[-1][-1] == ledger_head().hash
