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
database inbox on arrival and applies it once, however often it arrives (:mod:`automations.inbox`).
:func:`publish` gives every event but ``automation.wake`` a random id. ``reply_channel`` (optional)
asks for an ``automation.receipt`` once the event is stored (or with the reason it was refused);
``publish(event, confirm=True)`` sends the event again with the same id until the receipt comes.

Message events may carry ``request`` instead of ``data`` (``{"GET": {name: [values]},
"path": ..., "method": ..., "user": user id or null}``): the receiver then gets a request-like
:class:`automations.event_resolution.EventRequest`, as page-view hooks promise. Keys this schema
does not name are ignored.

Every event must be JSON that databases store (string keys, finite numbers, no NUL characters),
nested at most 64 levels deep and at most ``ATM_MAX_EVENT_SIZE`` bytes (default 256 KiB) encoded as
compact UTF-8 JSON (:mod:`automations.jsonlimits`); a larger one is refused before it is stored,
with the reason in its receipt.

:func:`publish` (sync code) and :func:`apublish` (async code) validate an event before sending it.
The worker validates every event again on arrival (:func:`validate`, then
:func:`automations.event_resolution.resolve` for what needs the database) and drops an invalid one
with a logged reason. A wake-up is a hint: the database row decides what is due, so a duplicate
does no harm and a lost one only delays work until a sweep. ``automation.wakes`` carries several
wake-ups at once: :func:`publish_wake` sends those of a burst of starts together.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import channels.layers
from asgiref.sync import async_to_sync
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automations import jsonlimits, publisher, registry
from automations import settings as atm_settings
from automations.exceptions import AutomationsError
from automations.logsafe import shown
from automations.models import MAX_ID
from automations.receivers import UnknownMessageError, receiver_for

logger = logging.getLogger("automations.events")

MESSAGE = "automation.message"
BROADCAST = "automation.broadcast"
CREATE = "automation.create"
START = "automation.start"
WAKE = "automation.wake"
WAKES = "automation.wakes"
EVENT_TYPES = (MESSAGE, BROADCAST, CREATE, START, WAKE, WAKES)
WAKE_TYPES = (WAKE, WAKES)

_FIELDS = {
    MESSAGE: {"automation", "message"},
    BROADCAST: {"automation_class", "message"},
    CREATE: {"automation_class", "message"},
    START: {"automation_class"},
    WAKE: {"automation"},
    WAKES: {"wakes"},
}
EFFECTFUL_TYPES = (MESSAGE, BROADCAST, CREATE, START)
RECEIPT = "automation.receipt"
_MAX_REFERENCE_LENGTH = 256
_MAX_MESSAGE_LENGTH = 200
_MAX_ID_LENGTH = 100
MAX_WAKES = 500  # wake-ups in one automation.wakes event
_ID_HINT = (
    " Every event but automation.wake carries a unique 'id' (up to 100 characters), so that it is applied"
    " once however often it arrives; events.publish() adds one."
)
_CHANNEL_NAME = re.compile(r"[a-zA-Z0-9\-_.]+(![a-zA-Z0-9\-_.]*)?")
_RESERVED_PARAMETERS = {"automation", "automation_id", "autorun"}  # would bind or not run the instance


class InvalidEventError(AutomationsError, ValueError):
    """An event does not follow the schema, or names something that does not exist."""


@dataclass(frozen=True)
class Event:
    """A validated event."""

    type: str
    automation: int | str | None = None
    automation_class: str | None = None
    message: str | None = None
    token: str | None = None
    data: object = None
    request: dict | None = None
    at: datetime | None = None
    id: str | None = None
    reply_channel: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def channel_name() -> str:
    """Return the channel the scheduler worker listens on (``ATM_CHANNEL_NAME``)."""
    return atm_settings.get("ATM_CHANNEL_NAME")


# -- validation ---------------------------------------------------------------------------------


def validate(event) -> Event:
    """Check ``event`` against the schema and the registry; return it as an :class:`Event`.

    Raise :class:`InvalidEventError` with the reason if the event is not a JSON dict, has an
    unknown type, misses a field or has one of the wrong type, names an automation class that is
    not registered or a message its class cannot receive. Checks that need the database (does the
    instance exist? do the data satisfy ``require_data_parameters``?) are :func:`resolve`'s.
    """
    if not isinstance(event, dict):
        raise InvalidEventError(f"An event must be a dict, not {type(event).__name__}.")
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        expected = ", ".join(EVENT_TYPES)
        raise InvalidEventError(f"Unknown event type {shown(kind)}; expected one of {expected}.")
    missing = sorted(name for name in _required(kind) if event.get(name) is None)
    if missing:
        hint = _ID_HINT if "id" in missing else ""
        raise InvalidEventError(f"An {kind} event needs {', '.join(missing)}.{hint}")
    _check_json(event, kind)

    values = {"type": kind, "raw": event, "id": _event_id(event.get("id"))}
    values["reply_channel"] = _reply_channel(event.get("reply_channel"))
    if "automation" in _FIELDS[kind]:
        values["automation"] = _reference(event["automation"], keys_allowed=kind == MESSAGE)
    if "automation_class" in _FIELDS[kind]:
        values["automation_class"] = _string(event, "automation_class")
        automation_class = registered_class(values["automation_class"])
    if "message" in _FIELDS[kind]:
        values["message"] = _string(event, "message", _MAX_MESSAGE_LENGTH)
        values["token"] = _optional_string(event, "token")
        if "automation_class" in values:
            check_receiver(automation_class, values["message"])
        values["request"] = _request_payload(event.get("request"))
        values["data"] = event.get("data")
    if kind == START:
        data = event.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidEventError("The data of an automation.start event must be a dict of parameters.")
        reserved = sorted(set(data) & _RESERVED_PARAMETERS)
        if reserved:
            raise InvalidEventError(f"An automation.start event cannot set {', '.join(reserved)}.")
        values["data"] = data
    if kind == WAKE:
        values["at"] = _moment(event.get("at"))
    if kind == WAKES:
        values["data"] = _wakes(event["wakes"])
    return Event(**values)


def _wakes(wakes) -> tuple:
    """Return the ``(automation id, at)`` of each wake-up of an ``automation.wakes`` event."""
    if not isinstance(wakes, list) or not 1 <= len(wakes) <= MAX_WAKES:
        raise InvalidEventError(f"'wakes' must be a list of 1 to {MAX_WAKES} wake-ups.")
    taken = []
    for wake in wakes:
        if not isinstance(wake, dict) or wake.get("automation") is None:
            raise InvalidEventError("Each of 'wakes' must be a dict with 'automation' and optionally 'at'.")
        taken.append((_reference(wake["automation"], keys_allowed=False), _moment(wake.get("at"))))
    return tuple(taken)


def _required(kind):
    return _FIELDS[kind] | ({"id"} if kind in EFFECTFUL_TYPES else set())


def _check_json(event, kind):
    """Raise :class:`InvalidEventError` unless ``event`` keeps the rules of :mod:`automations.jsonlimits`:
    JSON that databases store, at most ``MAX_DEPTH`` levels deep, at most ``ATM_MAX_EVENT_SIZE`` bytes."""
    try:
        jsonlimits.check(event)
    except jsonlimits.UnfitJSONError as exc:
        raise InvalidEventError(f"An {kind} event {exc}.") from None


def _event_id(value):
    if value is None or (isinstance(value, str) and 0 < len(value) <= _MAX_ID_LENGTH):
        return value
    raise InvalidEventError(f"'id' must be a string of 1 to {_MAX_ID_LENGTH} characters, not {shown(value)}.")


def _reply_channel(value):
    if value is None or (isinstance(value, str) and len(value) < 100 and _CHANNEL_NAME.fullmatch(value)):
        return value
    raise InvalidEventError(
        f"'reply_channel' must be a channel name (ASCII letters, digits, '-', '_', '.', "
        f"under 100 characters), not {shown(value)}."
    )


def _reference(value, *, keys_allowed):
    if isinstance(value, str) and value.isascii() and value.isdigit() and keys_allowed:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    if keys_allowed and isinstance(value, str) and 0 < len(value) <= _MAX_REFERENCE_LENGTH:
        return value
    expected = "a positive instance id or an instance key" if keys_allowed else "a positive instance id"
    raise InvalidEventError(f"'automation' must be {expected}, not {shown(value)}.")


def _string(event, name, max_length=_MAX_REFERENCE_LENGTH):
    value = event[name]
    if not isinstance(value, str) or not 0 < len(value) <= max_length:
        raise InvalidEventError(
            f"'{name}' must be a string of 1 to {max_length} characters, not {shown(value)}."
        )
    return value


def _optional_string(event, name):
    value = event.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidEventError(f"'{name}' must be a string or null, not {shown(value)}.")
    return value


def registered_class(path):
    """Return the declared automation class at ``path``, or raise :class:`InvalidEventError`."""
    try:
        return registry.get(path)
    except registry.UnknownAutomationError:
        raise InvalidEventError(
            f"{shown(path)} is not a registered automation class. Is its module an 'automations' module "
            f"of an installed app, or imported at start-up?"
        ) from None


def check_receiver(automation_class, message):
    """Raise :class:`InvalidEventError` unless ``automation_class`` receives ``message``."""
    try:
        receiver_for(automation_class, message)
    except UnknownMessageError as exc:
        raise InvalidEventError(str(exc)) from None


def _request_payload(payload):
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise InvalidEventError("'request' must be a dict with GET, path, method and user.")
    get = payload.get("GET", {})
    if not isinstance(get, dict) or not all(
        isinstance(values, list) and all(isinstance(item, str) for item in values) for values in get.values()
    ):
        raise InvalidEventError("'request.GET' must map parameter names to lists of strings.")
    for name in ("path", "method"):
        if not isinstance(payload.get(name, ""), str):
            raise InvalidEventError(f"'request.{name}' must be a string.")
    user = payload.get("user")
    if user is not None and not (isinstance(user, int | str) and not isinstance(user, bool)):
        raise InvalidEventError("'request.user' must be a user id or null.")
    return payload


def _moment(value):
    if value is None:
        return None
    try:
        moment = parse_datetime(value) if isinstance(value, str) and len(value) <= 64 else None
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        if moment is not None:
            moment.astimezone(UTC)  # a time at the edge of the calendar may not exist in UTC
    except (ValueError, OverflowError):  # well-formed but impossible, e.g. 30 February
        moment = None
    if moment is None:
        raise InvalidEventError(f"'at' must be an ISO 8601 date and time, not {shown(value)}.")
    return moment


# -- receipts -----------------------------------------------------------------------------------


def receipt(event_id: str | None, error: str | None = None) -> dict:
    """Return the ``automation.receipt`` a worker sends to an event's ``reply_channel``.

    Without ``error`` the event is accepted: stored in the worker's database inbox (or, for
    ``automation.wake``, taken), so that it is applied once whatever happens to the worker or the
    channel layer from now on. With ``error`` it was rejected and will never be applied.
    """
    if error is None:
        return {"type": RECEIPT, "id": event_id, "accepted": True}
    return {"type": RECEIPT, "id": event_id, "accepted": False, "error": error}


# -- publishing ---------------------------------------------------------------------------------


class EventNotConfirmedError(AutomationsError, TimeoutError):
    """No worker confirmed an event within the time a confirmed :func:`publish` allowed."""


CONFIRM_TIMEOUT = 30.0  # seconds a confirmed publish keeps trying by default
_FIRST_WAIT = 1.0  # seconds a confirmed publish waits for a receipt before it sends the event again
_LONGEST_WAIT = 5.0


def publish(event: dict, *, confirm: bool = False, timeout: float = CONFIRM_TIMEOUT) -> str | None:
    """Validate ``event`` and send it to the scheduler worker's channel (from sync code).

    An event other than ``automation.wake`` without an ``id`` gets a random one (``event`` itself
    is not changed), so that the worker applies it once even if it is delivered twice. Return the
    event's id. Raise :class:`InvalidEventError` if the event is invalid.

    Without ``confirm`` the event is sent once: ``channels.exceptions.ChannelFull`` or a connection
    error is raised if the channel layer refuses it, and it is lost if the worker that takes it dies
    before storing it. With ``confirm=True`` the event asks for a receipt, and is sent again with
    the same id until a worker confirms that it has stored it; full channels, connection errors and
    lost events are retried. Raise :class:`EventNotConfirmedError` if ``timeout`` seconds pass
    without a receipt, and :class:`InvalidEventError` if the worker rejects the event.
    """
    if confirm:
        return _from_sync(apublish, event, confirm=True, timeout=timeout)
    event = _checked(event)
    _from_sync(_send, event)
    return event.get("id")


async def _send(event):
    await _layer().send(channel_name(), event)


def _layer():
    """The channel layer to send with here: the publishing loop's own there, else the shared one."""
    if publisher.on_publishing_loop():
        return publisher.channel_layer()
    return channels.layers.get_channel_layer()


def _from_sync(coroutine_function, *args, **kwargs):
    """Run a publishing coroutine from sync code on the process's one publishing loop.

    The in-memory layer lives on the loop that receives its events (the embedded server's), where
    ``async_to_sync`` runs it from the server's threads; it holds no connections to keep.
    """
    if isinstance(channels.layers.get_channel_layer(), channels.layers.InMemoryChannelLayer):
        return async_to_sync(coroutine_function)(*args, **kwargs)
    return publisher.run(coroutine_function, *args, **kwargs)


async def apublish(event: dict, *, confirm: bool = False, timeout: float = CONFIRM_TIMEOUT) -> str | None:
    """Validate ``event`` and send it to the scheduler worker's channel (from async code).

    The same as :func:`publish`, awaitable.
    """
    event = _checked(event)
    layer = _layer()
    if not confirm:
        await layer.send(channel_name(), event)
    else:
        await _send_confirmed(layer, event, timeout)
    return event.get("id")


def _checked(event):
    event = with_id(event)
    validate(event)
    return event


async def _send_confirmed(layer, event, timeout):
    deadline = time.monotonic() + timeout
    reply_channel = await layer.new_channel("automations.receipt.")
    event = {**event, "reply_channel": reply_channel}
    wait, problem = _FIRST_WAIT, "no worker answered"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EventNotConfirmedError(
                f"Event {shown(event.get('id'))} ({event['type']}) was not confirmed within {timeout:g} s: "
                f"{problem}. Is a scheduler worker running on channel {channel_name()!r}?"
            )
        try:
            await layer.send(channel_name(), event)
            answer = await asyncio.wait_for(_receipt_for(layer, reply_channel, event.get("id")),
                                            min(wait, remaining))  # fmt: skip
        except TimeoutError:
            problem = "no worker answered"
        except Exception as exc:  # a full channel, Redis restarting: the same event again, later
            problem = f"the channel layer failed ({type(exc).__name__}: {shown(str(exc))})"
            await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        else:
            if answer.get("accepted") is True:
                return
            raise InvalidEventError(f"The worker rejected the event: {answer.get('error')}")
        wait = min(wait * 2, _LONGEST_WAIT)


async def _receipt_for(layer, reply_channel, event_id):
    while True:
        answer = await layer.receive(reply_channel)
        if isinstance(answer, dict) and answer.get("type") == RECEIPT and answer.get("id") == event_id:
            return answer


def with_id(event):
    """Return ``event`` with a random ``id`` if it has none and is not a wake-up."""
    if not isinstance(event, dict) or event.get("id") is not None or event.get("type") in WAKE_TYPES:
        return event
    return {**event, "id": uuid.uuid4().hex}


def wake_event(automation_id: int, at: datetime | None = None) -> dict:
    """Return the ``automation.wake`` event for ``automation_id`` (due at ``at``; default: now)."""
    event = {"type": WAKE, "automation": int(automation_id)}
    if at is not None:
        event["at"] = at.isoformat()
    return event


WAKE_GATHER = 0.2  # seconds a wake-up due later waits on the publishing loop for others to go with it
WAKE_SOON = 2.0  # a wake-up due within this many seconds goes out at once, on its own

_gathered: list[tuple[int, dict]] = []  # (automation id, automation.wake event) not yet sent
_gathered_lock = threading.Lock()


def _forget_gathered() -> None:  # a forked child does not send its parent's wake-ups again
    global _gathered_lock
    _gathered_lock = threading.Lock()
    _gathered.clear()


os.register_at_fork(after_in_child=_forget_gathered)


def publish_wake(automation_id: int, at: datetime | None = None) -> None:
    """Publish an ``automation.wake`` event; a full or unreachable channel is logged, not raised.

    Outside the in-memory layer the event is handed to the process's publishing loop and the call
    returns without waiting for the channel layer, so that starting instances does not wait for a
    round trip to Redis per instance. A wake-up due within ``WAKE_SOON`` seconds goes out at once;
    one due later waits ``WAKE_GATHER`` seconds there for others, and those published meanwhile go
    out as one ``automation.wakes`` event: one event for the channel layer and the worker, not one
    each, while a burst of instances starts and waits.
    """
    try:
        event = _checked(wake_event(automation_id, at))
        layer = channels.layers.get_channel_layer()
        if isinstance(layer, channels.layers.InMemoryChannelLayer):
            _from_sync(layer.send, channel_name(), event)
            return
        if at is None or (at - timezone.now()).total_seconds() < WAKE_SOON:
            sent = publisher.submit(_send, event)
            sent.add_done_callback(lambda done: _check_sent(done, automation_id))
            return
        with _gathered_lock:
            _gathered.append((automation_id, event))
            first = len(_gathered) == 1
        if first:  # the others published meanwhile go out with it
            try:
                publisher.submit_later(WAKE_GATHER, _send_gathered).add_done_callback(_check_sent)
            except Exception:
                with _gathered_lock:
                    _gathered.clear()  # none of them would be sent; the sweeps find them
                raise
    except Exception as exc:  # the instance's wake time is stored: a sweep will find it
        _wake_not_published(automation_id, exc)


async def _send_gathered() -> None:
    """Send the wake-ups gathered so far: one alone as ``automation.wake``, more as ``automation.wakes``."""
    with _gathered_lock:
        gathered = _gathered[:]
        _gathered.clear()
    for start in range(0, len(gathered), MAX_WAKES):
        part = gathered[start : start + MAX_WAKES]
        if len(part) == 1:
            event = part[0][1]
        else:
            wakes = [{name: value for name, value in wake.items() if name != "type"} for _, wake in part]
            event = {"type": WAKES, "wakes": wakes}
        try:
            await _send(event)
        except Exception as exc:
            for automation_id, _ in part:
                _wake_not_published(automation_id, exc)


def _check_sent(done, automation_id=None):
    failure = done.exception() if not done.cancelled() else RuntimeError("the publishing loop stopped")
    if failure is None:
        return
    if automation_id is not None:
        _wake_not_published(automation_id, failure)
    else:  # the gathered wake-ups: _send_gathered() names those it could not send
        logger.warning("Wake-ups not published (%r); the next sweep runs them.", failure)


def _wake_not_published(automation_id, exc):
    logger.warning("Wake-up of automation instance %s not published (%r); the next sweep runs it.",
                   automation_id, exc)  # fmt: skip
