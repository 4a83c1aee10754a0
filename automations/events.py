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

``automation`` is an instance id (int) or, for messages, the instance's key. ``token`` and ``data``
are optional. ``id`` (optional, a string of up to 100 characters) names an event: the worker does
what an event with an id asks at most once, even if the channel layer delivers it twice;
:func:`publish` gives every event but ``automation.wake`` a random id.

Message events may carry ``request`` instead of ``data`` (``{"GET": {name: [values]},
"path": ..., "method": ..., "user": user id or null}``): the receiver then gets a request-like
:class:`EventRequest`, as page-view hooks promise. Keys this schema does not name are ignored.

:func:`publish` (sync code) and :func:`apublish` (async code) validate an event before sending it.
The worker validates every event again on arrival (:func:`validate`, then :func:`resolve` for what
needs the database) and drops an invalid one with a logged reason. Events are hints: the database
row decides what is due, so a duplicate wake-up does no harm and a lost one only delays work until
the next sweep -- except messages from services, which are delivered at most once.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automations import registry
from automations import settings as atm_settings

logger = logging.getLogger("automations.events")

MESSAGE = "automation.message"
BROADCAST = "automation.broadcast"
CREATE = "automation.create"
START = "automation.start"
WAKE = "automation.wake"
EVENT_TYPES = (MESSAGE, BROADCAST, CREATE, START, WAKE)
HANDLED_EVENTS_KEPT = timedelta(days=1)

_FIELDS = {
    MESSAGE: {"automation", "message"},
    BROADCAST: {"automation_class", "message"},
    CREATE: {"automation_class", "message"},
    START: {"automation_class"},
    WAKE: {"automation"},
}
_MAX_REFERENCE_LENGTH = 256
_MAX_ID_LENGTH = 100
_RESERVED_PARAMETERS = {"automation", "automation_id", "autorun"}  # would bind or not run the instance


class InvalidEventError(ValueError):
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
        raise InvalidEventError(f"Unknown event type {kind!r}; expected one of {', '.join(EVENT_TYPES)}.")
    missing = sorted(name for name in _FIELDS[kind] if event.get(name) is None)
    if missing:
        raise InvalidEventError(f"An {kind} event needs {', '.join(missing)}.")
    try:
        json.dumps(event, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(f"An {kind} event must be JSON: {exc}.") from None

    values = {"type": kind, "raw": event, "id": _event_id(event.get("id"))}
    if "automation" in _FIELDS[kind]:
        values["automation"] = _reference(event["automation"], keys_allowed=kind == MESSAGE)
    if "automation_class" in _FIELDS[kind]:
        values["automation_class"] = _string(event, "automation_class")
        try:
            automation_class = registry.get(values["automation_class"])
        except registry.UnknownAutomationError as exc:
            raise InvalidEventError(str(exc)) from None
    if "message" in _FIELDS[kind]:
        values["message"] = _string(event, "message")
        values["token"] = _optional_string(event, "token")
        if "automation_class" in values:
            _check_receiver(automation_class, values["message"])
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
    return Event(**values)


def _event_id(value):
    if value is None or (isinstance(value, str) and 0 < len(value) <= _MAX_ID_LENGTH):
        return value
    raise InvalidEventError(f"'id' must be a string of 1 to {_MAX_ID_LENGTH} characters, not {value!r}.")


def _reference(value, *, keys_allowed):
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if keys_allowed and isinstance(value, str) and 0 < len(value) <= _MAX_REFERENCE_LENGTH:
        return int(value) if value.isdigit() else value
    expected = "a positive instance id or an instance key" if keys_allowed else "a positive instance id"
    raise InvalidEventError(f"'automation' must be {expected}, not {value!r}.")


def _string(event, name):
    value = event[name]
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"'{name}' must be a non-empty string, not {value!r}.")
    return value


def _optional_string(event, name):
    value = event.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidEventError(f"'{name}' must be a string or null, not {value!r}.")
    return value


def _check_receiver(automation_class, message):
    from automations.flow.messages import UnknownMessageError, receiver_for

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
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise InvalidEventError(f"'at' must be an ISO 8601 date and time, not {value!r}.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


# -- the request-like object --------------------------------------------------------------------


class EventRequest:
    """What a receiver may use of the request that caused a page-view event, rebuilt on the worker.

    ``GET`` is a read-only :class:`~django.http.QueryDict`; ``user`` is the user (or an
    ``AnonymousUser``), loaded when first used; ``path`` and ``method`` are strings.
    """

    def __init__(self, payload: dict):
        self.GET = QueryDict(mutable=True)
        for name, values in (payload.get("GET") or {}).items():
            self.GET.setlist(name, list(values))
        self.GET._mutable = False
        self.POST = QueryDict()
        self.path = payload.get("path") or "/"
        self.method = payload.get("method") or "GET"
        self._user_id = payload.get("user")

    @property
    def user(self):
        if not hasattr(self, "_user"):
            from django.contrib.auth import get_user_model
            from django.contrib.auth.models import AnonymousUser

            users = get_user_model()._default_manager
            user = users.filter(pk=self._user_id).first() if self._user_id is not None else None
            self._user = user or AnonymousUser()
        return self._user

    def __repr__(self):
        return f"<EventRequest {self.method} {self.path!r}>"


# -- resolution and handling on the worker --------------------------------------------------------


def resolve(event: Event):
    """Return ``(automation class, model or None, data for the receiver)`` for ``event``.

    Raise :class:`InvalidEventError` if the instance does not exist, is not of the class the
    message needs, or the data do not satisfy the receiver's ``require_data_parameters``.
    """
    from automations.models import AutomationModel

    model = None
    if event.automation is not None:
        try:
            model = AutomationModel.objects.get_by_reference(event.automation)
        except AutomationModel.DoesNotExist:
            raise InvalidEventError(f"No automation instance {event.automation!r}.") from None
        try:
            automation_class = model.get_automation_class()
        except registry.UnknownAutomationError as exc:
            raise InvalidEventError(str(exc)) from None
    else:
        automation_class = registry.get(event.automation_class)
    data = EventRequest(event.request) if event.request is not None else event.data
    if event.message is not None:
        _check_receiver(automation_class, event.message)
        if not automation_class.satisfies_data_requirements(event.message, data):
            raise InvalidEventError(
                f"The data of message '{event.message}' miss parameters that "
                f"{automation_class.__name__}.receive_{event.message} requires."
            )
    return automation_class, model, data


def handle(event: Event):
    """Do what ``event`` asks, through the engine; return what the engine returned.

    Runs in the scheduler worker's database thread. Wake-ups that follow (a message received, an
    instance created) advance their instances here and now instead of publishing new events.
    """
    from automations import engine, wakeups

    with wakeups.event_scope():
        if event.type == WAKE:
            return engine.advance(event.automation, skip_locked=True, due_only=event.at is not None)
        with transaction.atomic():
            if event.id is not None and not _first_handling(event.id):
                logger.info("Event %s was handled already; duplicate dropped.", event.id)
                return None
            return _deliver(event)


def _first_handling(event_id) -> bool:
    """Record ``event_id`` as handled; return ``False`` if it was already (by any worker)."""
    from automations.models import HandledEvent

    try:
        with transaction.atomic():
            HandledEvent.objects.create(id=event_id)
    except IntegrityError:
        return False
    return True


def forget_handled_events(older_than: timedelta = HANDLED_EVENTS_KEPT) -> int:
    """Delete the ids of events handled longer ago than ``older_than``; return how many."""
    from automations.models import HandledEvent

    return HandledEvent.objects.filter(handled__lt=timezone.now() - older_than).delete()[0]


def _deliver(event: Event):
    automation_class, model, data = resolve(event)
    if event.type == MESSAGE:
        instance = automation_class(automation=model)
        return instance.send_message(event.message, event.token, data)
    if event.type == BROADCAST:
        return automation_class.broadcast_message(event.message, event.token, data)
    if event.type == CREATE:
        return automation_class.create_on_message(event.message, event.token, data)
    return automation_class(**data)


# -- publishing ---------------------------------------------------------------------------------


def publish(event: dict) -> None:
    """Validate ``event`` and send it to the scheduler worker's channel (from sync code).

    An event other than ``automation.wake`` without an ``id`` gets a random one (``event`` itself
    is not changed), so that the worker handles it once even if it is delivered twice. Raise
    :class:`InvalidEventError` if it is invalid, and ``channels.exceptions.ChannelFull`` if
    the channel is full (the database still holds what is due: the next sweep finds it).
    """
    event = with_id(event)
    validate(event)
    from channels.layers import get_channel_layer

    async_to_sync(get_channel_layer().send)(channel_name(), event)


async def apublish(event: dict) -> None:
    """Validate ``event`` and send it to the scheduler worker's channel (from async code)."""
    event = with_id(event)
    validate(event)
    from channels.layers import get_channel_layer

    await get_channel_layer().send(channel_name(), event)


def with_id(event):
    """Return ``event`` with a random ``id`` if it has none and is not a wake-up."""
    if not isinstance(event, dict) or event.get("id") is not None or event.get("type") == WAKE:
        return event
    return {**event, "id": uuid.uuid4().hex}


def wake_event(automation_id: int, at: datetime | None = None) -> dict:
    """Return the ``automation.wake`` event for ``automation_id`` (due at ``at``; default: now)."""
    event = {"type": WAKE, "automation": int(automation_id)}
    if at is not None:
        event["at"] = at.isoformat()
    return event


def publish_wake(automation_id: int, at: datetime | None = None) -> None:
    """Publish an ``automation.wake`` event; a full or unreachable channel is logged, not raised."""
    try:
        publish(wake_event(automation_id, at))
    except Exception as exc:  # the instance's wake time is stored: a sweep will find it
        logger.warning("Wake-up of automation instance %s not published (%r); the next sweep runs it.",
                       automation_id, exc)  # fmt: skip
