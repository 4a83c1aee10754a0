"""The scheduler worker's timer table: the earliest wake times, at most a limit of them."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automations.worker.timers import Timers

T = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def at(seconds):
    return T + timedelta(seconds=seconds)


def everything(timers):
    return timers.pop_due(datetime.max.replace(tzinfo=UTC), len(timers) + 1)


def test_a_full_table_keeps_the_earliest_wake_times():
    timers = Timers(3)
    for automation_id, seconds in [(1, 10), (2, 20), (3, 30)]:
        assert timers.add(automation_id, at(seconds))
    assert not timers.add(4, at(40))  # later than all kept: left to the sweeps
    assert not timers.add(5, at(30))  # no earlier than the latest kept either
    assert timers.add(6, at(5))  # earlier: takes the latest one's place
    assert len(timers) == 3 and timers.get(3) is None
    assert timers.first() == (at(5), 6) and timers.last() == (at(20), 2)
    assert everything(timers) == [(6, at(5)), (1, at(10)), (2, at(20))]


def test_an_earlier_time_for_a_kept_instance_replaces_its_own_and_evicts_nothing():
    timers = Timers(2)
    timers.add(1, at(10))
    timers.add(2, at(20))
    assert not timers.add(2, at(25))  # a later time for a kept instance changes nothing
    assert timers.add(2, at(1))
    assert len(timers) == 2 and timers.last() == (at(10), 1)
    assert everything(timers) == [(2, at(1)), (1, at(10))]


def test_due_timers_are_taken_earliest_first_a_limited_number_at_a_time():
    timers = Timers(10)
    for automation_id in range(1, 6):
        timers.add(automation_id, at(automation_id))
    assert timers.pop_due(at(3), limit=2) == [(1, at(1)), (2, at(2))]
    assert timers.pop_due(at(3), limit=2) == [(3, at(3))]
    assert timers.first() == (at(4), 4) and len(timers) == 2


def test_stale_entries_are_compacted_away():
    timers = Timers(100, slack=10)
    for round_ in range(1_000):  # each time one fires and one moves earlier: two stale entries
        timers.add(round_, at(round_ + 5))
        timers.add(round_, at(round_ + 2))
        timers.pop_due(at(round_), limit=1)
    assert len(timers) == 2
    assert timers.heap_size() <= 2 * len(timers) + 11  # each heap
    assert everything(timers) == [(998, at(1000)), (999, at(1001))]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 12), st.integers(0, 30)),
        st.tuples(st.just("pop"), st.integers(0, 30), st.integers(1, 3)),
    ),
    max_size=60,
)


@given(limit=st.integers(1, 6), steps=operations)
@settings(max_examples=300, deadline=None)
@pytest.mark.parametrize("slack", [0, 1000])
def test_the_table_matches_a_plain_dict_of_the_earliest_wake_times(slack, limit, steps):
    timers, model = Timers(limit, slack=slack), {}
    for kind, first, second in steps:
        if kind == "add":
            automation_id, when = first, at(second)
            expected = model.get(automation_id) is None or when < model[automation_id]
            if automation_id not in model and len(model) >= limit:
                latest = max((time, pk) for pk, time in model.items())
                expected = (when, automation_id) < latest
                if expected:
                    del model[latest[1]]
            if expected:
                model[automation_id] = when
            assert timers.add(automation_id, when) is expected
        else:
            due = sorted((time, pk) for pk, time in model.items() if time <= at(first))[:second]
            for _, pk in due:
                del model[pk]
            assert timers.pop_due(at(first), second) == [(pk, time) for time, pk in due]
        assert len(timers) == len(model)
        assert timers.first() == min(((time, pk) for pk, time in model.items()), default=None)
        assert timers.last() == max(((time, pk) for pk, time in model.items()), default=None)
    assert everything(timers) == [(pk, time) for time, pk in sorted((time, pk) for pk, time in model.items())]
