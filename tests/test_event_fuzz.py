"""Property-based tests of the event contract: no input makes validation or the worker fail.

Every log line written meanwhile by ``automations`` and ``consumers`` is checked: values from
outside reach it only through the one log-safe formatter (:func:`automations.logsafe.shown`), so
that no line holds a newline, a control, format or bidi character, or more than a bounded length.
"""

import contextlib
import logging

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations import events
from automations.events import inbox
from automations.models import AutomationModel
from automations.worker import Scheduler
from tests.testapp.automations import Napper

NAPPER = Napper.get_automation_class_name()
HOSTILE = [
    "x\r\nWARNING forged",
    "wake_up\nCRITICAL django.security: admin logged in",
    "evil\u202egnp.exe",  # right-to-left override
    "zero\u200bwidth\u2066isolate\u2069",
    "\x1b[31mred\x1b[0m",
    "line\u2028separator\u0085next",
    "x" * 3000,
]
LOG_LINE_LIMIT = 2000


class LogLines(logging.Handler):
    """Collects the records of the loggers ``automations.*`` while it is installed."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def unsafe(self):
        """Return the messages that are not one printable, bounded line."""
        messages = [record.getMessage() for record in self.records]
        return [text[:300] for text in messages if not text.isprintable() or len(text) > LOG_LINE_LIMIT]


@contextlib.contextmanager
def log_lines_checked():
    """Fail if a log line written inside holds an unescaped value from outside."""
    handler, root = LogLines(), logging.getLogger("automations")
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert not handler.unsafe(), handler.unsafe()

def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["²", "𝟙", "١٢", "0", "-1", "2030-02-30T10:00:00", "a\x00b", "\ud800", NAPPER, "x.y"]),
    st.sampled_from(HOSTILE),
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
    st.builds(
        lambda kind, size, depth: {
            "type": kind, "automation": 1, "automation_class": NAPPER, "message": "visit", "id": "outsize",
            "data": {"room": 1, "blob": "x" * size, "deep": nested(depth)}, "wakes": [{"automation": 1}],
        },
        st.sampled_from(events.EVENT_TYPES),
        st.sampled_from([0, 256 * 1024 - 200, 256 * 1024, 300_000]),
        st.sampled_from([0, 60, 64, 65, 5_000]),
    ),  # fmt: skip: oversize and too deep events among fitting ones
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
    with log_lines_checked():
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
    with log_lines_checked():
        intakes = inbox.accept(bad, worker="fuzz")
        assert len(intakes) == len(bad)
        for intake in intakes:
            assert (intake.event is None) == (intake.error is not None)
            assert intake.receipt()["type"] == events.RECEIPT
            if intake.stored:
                assert inbox.apply(intake.event.id) in (None, "applied", "rejected", "failed")


@pytest.mark.django_db(transaction=True)
@given(
    kind=st.sampled_from([events.MESSAGE, events.BROADCAST, events.CREATE, events.START]),
    hostile=st.sampled_from(HOSTILE),
    where=st.sampled_from(["message", "token", "automation_class", "id", "data key", "data value", "type"]),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hostile_names_never_forge_a_log_line(kind, hostile, where):
    napper = Napper(seconds=60, sleepy=True)
    event = {"type": kind, "automation": napper.id, "automation_class": NAPPER, "message": "visit",
             "token": "t", "data": {"room": 1}, "id": f"hostile-{napper.id}"}  # fmt: skip
    if where == "data key":
        event["data"] = {hostile: 1, "room": 1}
    elif where == "data value":
        event["data"] = {"room": hostile}
    else:
        event[where] = hostile[:100] if where == "id" else hostile
    worker = Scheduler()
    with log_lines_checked() as lines:
        async_to_sync(worker.dispatch)(event)
        async_to_sync(worker.dispatch)({**event, "reply_channel": "bad\nchannel"})
    assert all(record.name.startswith("automations") for record in lines.records)


@pytest.mark.django_db(transaction=True)
def test_the_reported_log_injections_are_escaped():
    """``message`` "x\\r\\nWARNING forged" through broadcast, create and message events."""
    napper = Napper(seconds=60, sleepy=True)
    worker = Scheduler()
    forged = "x\r\nWARNING forged \u202e\u200b"
    with log_lines_checked() as lines:
        for kind in (events.BROADCAST, events.CREATE, events.MESSAGE):
            event = {"type": kind, "automation_class": NAPPER, "automation": napper.id, "message": forged,
                     "id": f"e-{kind}"}  # fmt: skip
            assert async_to_sync(worker.dispatch)(event) is False
    logged = " ".join(record.getMessage() for record in lines.records)
    assert logged.count("'x\\r\\nWARNING forged \\u202e\\u200b'") == 3, logged
