"""Wake-ups published from this process: :func:`publish_wake`, and wake-ups due later sent together.

A wake-up is a hint: the database row decides what is due, so a duplicate does no harm and a lost
one only delays work until a sweep. Those published within ``ATM_WAKE_GATHER`` seconds of each other
go out as one ``automation.wakes`` event.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime

import channels.layers
from django.utils import timezone

from automations import publisher
from automations import settings as atm_settings
from automations.events.publishing import channel_name, checked, from_sync, send, wake_event
from automations.events.schema import MAX_WAKES, WAKES

logger = logging.getLogger("automations.events")

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
    round trip to Redis per instance. A wake-up due within ``ATM_WAKE_SOON`` seconds goes out at
    once; one due later waits ``ATM_WAKE_GATHER`` seconds there for others, and those published meanwhile go
    out as one ``automation.wakes`` event: one event for the channel layer and the worker, not one
    each, while a burst of instances starts and waits.
    """
    try:
        event = checked(wake_event(automation_id, at))
        layer = channels.layers.get_channel_layer()
        if isinstance(layer, channels.layers.InMemoryChannelLayer):
            from_sync(layer.send, channel_name(), event)
            return
        if at is None or (at - timezone.now()).total_seconds() < atm_settings.get("ATM_WAKE_SOON"):
            sent = publisher.submit(send, event)
            sent.add_done_callback(lambda done: _check_sent(done, automation_id))
            return
        with _gathered_lock:
            _gathered.append((automation_id, event))
            first = len(_gathered) == 1
        if first:  # the others published meanwhile go out with it
            try:
                gather = atm_settings.get("ATM_WAKE_GATHER")
                publisher.submit_later(gather, _send_gathered).add_done_callback(_check_sent)
            except Exception:
                with _gathered_lock:
                    _gathered.clear()  # none of them would be sent; the sweeps find them
                raise
    except Exception as exc:  # the instance's wake time is stored: a sweep will find it
        _wake_not_published(automation_id, exc)


def publish_wake_to(channel: str, automation_id: int) -> None:
    """Publish an ``automation.wake`` event due now to ``channel``, without waiting for the channel layer.

    A full or unreachable channel is logged, not raised.
    """
    try:
        event = checked(wake_event(automation_id))
        sent = publisher.submit(_send_to, channel, event)
        sent.add_done_callback(lambda done: _check_sent(done, automation_id))
    except Exception as exc:  # the instance's wake time is stored: a sweep will find it
        _wake_not_published(automation_id, exc)


async def _send_to(channel: str, event: dict) -> None:
    await publisher.current_layer().send(channel, event)


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
            await send(event)
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
