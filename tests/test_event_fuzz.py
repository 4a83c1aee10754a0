"""Property-based tests of the event contract: no input makes validation or the worker fail."""

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import events, inbox
from automations.models import AutomationModel
from consumers.scheduler import Scheduler
from tests.testapp.automations import Napper

NAPPER = Napper.get_automation_class_name()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["²", "𝟙", "١٢", "0", "-1", "2030-02-30T10:00:00", "a\x00b", "\ud800", NAPPER, "x.y"]),
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["automation", "automation_class", "message", "token", "data", "request", "at", "id",
          "reply_channel"]
event_like = st.one_of(
    json_like,
    st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(events.EVENT_TYPES), json_like)},
        optional={name: json_like for name in FIELDS},
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(events.EVENT_TYPES), "automation_class": st.just(NAPPER),
         "message": st.sampled_from(["wake_up", "visit", "dance"]), "id": st.text(min_size=1, max_size=20)},
        optional={name: json_like for name in ["automation", "data", "request", "at", "token"]},
    ),  # fmt: skip
)


@given(event_like)
@settings(max_examples=500, deadline=None)
def test_validate_returns_an_event_or_raises_invalid_event_error(value):
    try:
        event = events.validate(value)
    except events.InvalidEventError as exc:
        assert str(exc)
    else:
        assert isinstance(event, events.Event)


@pytest.mark.django_db(transaction=True)
@given(bad=st.lists(event_like, min_size=1, max_size=5))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_worker_handles_a_valid_event_after_any_bad_ones(bad):
    worker = Scheduler()
    for value in bad:
        assert async_to_sync(worker.dispatch)(value) in (True, False)
    napper = Napper(seconds=60, sleepy=True)
    wake_up = {"type": "automation.message", "automation": napper.id, "message": "wake_up",
               "id": f"wake-{napper.id}"}
    assert async_to_sync(worker.dispatch)(wake_up) is True
    assert AutomationModel.objects.get(pk=napper.id).data.get("awake") is True


@pytest.mark.django_db(transaction=True)
@given(bad=st.lists(event_like, min_size=1, max_size=20))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_storing_any_events_leaves_the_inbox_usable(bad):
    intakes = inbox.accept(bad, worker="fuzz")
    assert len(intakes) == len(bad)
    for intake in intakes:
        assert (intake.event is None) == (intake.error is not None)
        assert intake.receipt()["type"] == events.RECEIPT
        if intake.stored:
            assert inbox.apply(intake.event.id) in (None, "applied", "rejected", "failed")
