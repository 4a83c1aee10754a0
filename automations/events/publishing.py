"""Publishing events to the scheduler worker's channel: :func:`publish`, :func:`apublish`, confirmation.

An event is validated (:func:`automations.events.schema.validate`) before it is sent; one without an
``id`` gets a random one (:func:`with_id`). From sync code the event goes out on the process's one
publishing loop (:mod:`automations.publisher`); a confirmed publish sends it again with the same id
until a worker's receipt comes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, overload

import channels.layers
from asgiref.sync import async_to_sync

from automations import publisher
from automations import settings as atm_settings
from automations.events.confirming import send_confirmed
from automations.events.schema import WAKE, WAKE_TYPES, validate


def channel_name() -> str:
    """Return the channel the scheduler worker listens on (``ATM_CHANNEL_NAME``)."""
    return atm_settings.get("ATM_CHANNEL_NAME")


def publish(event: dict, *, confirm: bool = False, timeout: float | None = None) -> str | None:
    """Validate ``event`` and send it to the scheduler worker's channel (from sync code).

    An event other than ``automation.wake`` without an ``id`` gets a random one (``event`` itself
    is not changed), so that the worker applies it once even if it is delivered twice. Return the
    event's id. Raise :class:`InvalidEventError` if the event is invalid.

    Without ``confirm`` the event is sent once: ``channels.exceptions.ChannelFull`` or a connection
    error is raised if the channel layer refuses it, and it is lost if the worker that takes it dies
    before storing it. With ``confirm=True`` the event asks for a receipt, and is sent again with
    the same id until a worker confirms that it has stored it; full channels, connection errors and
    lost events are retried. Raise :class:`EventNotConfirmedError` if ``timeout`` seconds (default
    ``ATM_CONFIRM_TIMEOUT``) pass without a receipt, and :class:`InvalidEventError` if the worker
    rejects the event.
    """
    if confirm:
        return from_sync(apublish, event, confirm=True, timeout=timeout)
    event = checked(event)
    from_sync(send, event)
    return event.get("id")


async def send(event):
    """Send ``event`` as it is to the scheduler worker's channel."""
    await publisher.current_layer().send(channel_name(), event)


def from_sync(coroutine_function, *args, **kwargs):
    """Run a publishing coroutine from sync code on the process's one publishing loop.

    The in-memory layer lives on the loop that receives its events (the embedded server's), where
    ``async_to_sync`` runs it from the server's threads; it holds no connections to keep.
    """
    if isinstance(channels.layers.get_channel_layer(), channels.layers.InMemoryChannelLayer):
        return async_to_sync(coroutine_function)(*args, **kwargs)
    return publisher.run(coroutine_function, *args, **kwargs)


async def apublish(event: dict, *, confirm: bool = False, timeout: float | None = None) -> str | None:
    """Validate ``event`` and send it to the scheduler worker's channel (from async code).

    The same as :func:`publish`, awaitable.
    """
    event = checked(event)
    if confirm:
        await send_confirmed(event, timeout)
    else:
        await publisher.current_layer().send(channel_name(), event)
    return event.get("id")


def checked(event):
    """Return ``event`` with an ``id`` (:func:`with_id`), validated; raise :class:`InvalidEventError`."""
    event = with_id(event)
    validate(event)
    return event


@overload
def with_id(event: dict[str, Any]) -> dict[str, Any]: ...
@overload
def with_id(event: object) -> object: ...
def with_id(event: object) -> object:
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
