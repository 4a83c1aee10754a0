"""The schema of channel events: their types, :class:`Event`, :func:`validate` and receipts.

:func:`validate` checks what an event can be checked against without the database: its type, its
fields and their types, the JSON limits of :mod:`automations.jsonlimits`, and that a named class is
registered and receives the named message. What needs the database is
:func:`automations.events.resolution.resolve`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automations import jsonlimits, registry
from automations.exceptions import AutomationsError
from automations.logsafe import shown
from automations.models import MAX_ID
from automations.receivers import UnknownMessageError, receiver_for

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
    data: Any = None  # the message's data, the start's parameters, or the wake-ups
    request: dict | None = None
    at: datetime | None = None
    id: str | None = None
    reply_channel: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


# -- validation ---------------------------------------------------------------------------------


def validate(event: object) -> Event:
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


def registered_class(path: Any) -> type[Any]:
    """Return the declared automation class at ``path``, or raise :class:`InvalidEventError`."""
    try:
        return registry.get(path)
    except registry.UnknownAutomationError:
        raise InvalidEventError(
            f"{shown(path)} is not a registered automation class. Is its module an 'automations' module "
            f"of an installed app, or imported at start-up?"
        ) from None


def check_receiver(automation_class: type, message: str) -> None:
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
