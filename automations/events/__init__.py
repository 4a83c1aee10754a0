"""Channel-layer events: the public contract between services and the scheduler worker.

Any process that shares the channel layer may ask the scheduler worker to do something by sending a
plain JSON dict to the channel named by ``ATM_CHANNEL_NAME`` (default ``"automations"``)::

    {"type": "automation.message", "automation": 42, "message": "paid", "token": "t", "data": {...}}
    {"type": "automation.broadcast", "automation_class": "shop.automations.Onboarding",
     "message": "paid", "token": "t", "data": {...}}
    {"type": "automation.create", "automation_class": "...", "message": "...", "token": ..., "data": ...}
    {"type": "automation.start", "automation_class": "...", "data": {"customer": 7}}
    {"type": "automation.wake", "automation": 42}              # advance instance 42 now
    {"type": "automation.wake", "automation": 42, "at": "2030-01-07T09:05:00+00:00"}  # due then
    {"type": "automation.wakes", "wakes": [{"automation": 42, "at": "..."}, {"automation": 43}]}

``automation`` is an instance id (int, or a string of ASCII digits) or, for messages, the
instance's key. ``token`` and ``data`` are optional. ``id`` (a string of up to 100 characters) names
an event and is required for every type but ``automation.wake``: the worker stores the event in its
database inbox on arrival and applies it once, however often it arrives (:mod:`automations.events.inbox`).
:func:`publish` gives every event but ``automation.wake`` a random id. ``reply_channel`` (optional)
asks for an ``automation.receipt`` once the event is stored (or with the reason it was refused);
``publish(event, confirm=True)`` sends the event again with the same id until the receipt comes.

Message events may carry ``request`` instead of ``data`` (``{"GET": {name: [values]},
"path": ..., "method": ..., "user": user id or null}``): the receiver then gets a request-like
:class:`automations.events.resolution.EventRequest`, as page-view hooks promise. Keys this schema
does not name are ignored.

Every event must be JSON that databases store (string keys, finite numbers, no NUL characters),
nested at most 64 levels deep and at most ``ATM_MAX_EVENT_SIZE`` bytes (default 256 KiB) encoded as
compact UTF-8 JSON (:mod:`automations.jsonlimits`); a larger one is refused before it is stored,
with the reason in its receipt.

:func:`publish` (sync code) and :func:`apublish` (async code) validate an event before sending it.
The worker validates every event again on arrival (:func:`validate`, then
:func:`automations.events.resolution.resolve` for what needs the database) and drops an invalid one
with a logged reason. A wake-up is a hint: the database row decides what is due, so a duplicate
does no harm and a lost one only delays work until a sweep. ``automation.wakes`` carries several
wake-ups at once: :func:`publish_wake` sends those of a burst of starts together.

The package is in two layers (docs/architecture.md). What this module exports is persistence: the
schema (:mod:`~automations.events.schema`), publishing (:mod:`~automations.events.publishing`,
:mod:`~automations.events.wakes`) and :mod:`~automations.events.wakeups`. The worker's side,
:mod:`~automations.events.resolution` and :mod:`~automations.events.inbox`, needs the engine and the
run time and is imported by its module path; this module never imports it.
"""

from automations.events.confirming import EventNotConfirmedError
from automations.events.publishing import (
    apublish,
    channel_name,
    publish,
    wake_event,
    with_id,
)
from automations.events.schema import (
    BROADCAST,
    CREATE,
    EFFECTFUL_TYPES,
    EVENT_TYPES,
    MAX_WAKES,
    MESSAGE,
    RECEIPT,
    START,
    WAKE,
    WAKE_TYPES,
    WAKES,
    Event,
    InvalidEventError,
    check_receiver,
    receipt,
    registered_class,
    validate,
)
from automations.events.wakes import publish_wake, publish_wake_to

__all__ = [
    "BROADCAST",
    "CREATE",
    "EFFECTFUL_TYPES",
    "EVENT_TYPES",
    "Event",
    "EventNotConfirmedError",
    "InvalidEventError",
    "MAX_WAKES",
    "MESSAGE",
    "RECEIPT",
    "START",
    "WAKE",
    "WAKES",
    "WAKE_TYPES",
    "apublish",
    "channel_name",
    "check_receiver",
    "publish",
    "publish_wake",
    "publish_wake_to",
    "receipt",
    "registered_class",
    "validate",
    "wake_event",
    "with_id",
]
