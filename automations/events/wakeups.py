"""Telling the scheduler worker that an instance is due (waking in place: :func:`automations.instances.wake`).

Without a worker (``ATM_WORKER = False`` and no scheduler running in this process) a woken instance
runs in place at once, or right after the current step commits if the wake-up comes from inside a
step. With a worker, the instance is marked due in the database and the worker is told once the
transaction commits: directly when the scheduler runs in this process (the embedded server), else
by an ``automation.wake`` event on the channel layer. A lost event only delays the instance until
the next sweep. While the scheduler itself handles an event, wake-ups run in place: it *is* the
worker.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

import channels.layers
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from automations import events
from automations import settings as atm_settings
from automations.models import AutomationModel

INLINE = "inline"  # no worker: woken instances run in place
WORKER = "worker"  # a scheduler worker runs (in this process, or elsewhere on the channel layer)

_handling: ContextVar[int] = ContextVar("automations_handling_event", default=0)
_runner: str | None = None  # chosen once by the command that starts a worker in this process
_local_scheduler = None  # callable(automation_id, at); thread-safe; set by a scheduler in this process
_local_channel: str | None = None  # the channel that scheduler listens on, if it listens on one
BACKSTOP = timedelta(seconds=1)  # see wake_any_worker()


def choose_runner(runner: str | None) -> None:
    """Say, once when the process starts, who advances woken instances here: :data:`WORKER` or
    :data:`INLINE`; ``None`` goes back to the setting ``ATM_WORKER``. ``automation_worker`` and
    ``automation_server`` choose :data:`WORKER` for their process."""
    global _runner
    if runner not in (INLINE, WORKER, None):
        raise ValueError(f"The runner must be {INLINE!r}, {WORKER!r} or None, not {runner!r}.")
    _runner = runner


def runner() -> str:
    """Return who advances woken instances in this process: chosen, or ``ATM_WORKER``'s choice."""
    if _runner is not None:
        return _runner
    return WORKER if atm_settings.get("ATM_WORKER") else INLINE


def set_local_scheduler(callback, channel: str | None = None) -> None:
    """Register (or with ``None`` remove) the scheduler running in this process, and its channel."""
    global _local_scheduler, _local_channel
    _local_scheduler = callback
    _local_channel = channel if callback is not None else None


def local_scheduler():
    """Return the ``schedule(automation_id, at)`` callback of the scheduler in this process, or ``None``."""
    return _local_scheduler


def worker_available() -> bool:
    """Return whether a scheduler worker takes wake-ups (in this process or over the channel layer)."""
    return _local_scheduler is not None or runner() == WORKER


def handling_event() -> bool:
    """Return whether the code running here is the scheduler worker handling an event."""
    return _handling.get() > 0


@contextmanager
def event_scope():
    """Mark the code inside as the scheduler worker handling an event."""
    token = _handling.set(_handling.get() + 1)
    try:
        yield
    finally:
        _handling.reset(token)


def runs_threaded_here() -> bool:
    """Return whether ``Execute(threaded=True)`` nodes run in this thread (no worker to hand them to)."""
    return handling_event() or not worker_available()


def due_now(model) -> None:
    """Make the running instance of the row ``model`` due now, e.g. after its data was changed.

    The next step (``automation_step``, a sweep) then looks at it; a scheduler worker is told once
    the transaction commits.
    """
    if not model.is_active:
        return
    mark_due(model.pk)
    now = timezone.now()
    if model.wake_at is None or model.wake_at > now:
        model.wake_at = now
    wake_at(model.pk, now)


def wake_at(automation_id: int, at) -> None:
    """Tell the scheduler worker, once committed, to wake ``automation_id`` at ``at``."""
    if worker_available():
        transaction.on_commit(lambda: wake_now(automation_id, at))


def wake_now(automation_id: int, at=None) -> None:
    """Tell the scheduler worker now that ``automation_id`` is due at ``at`` (default: now)."""
    if _local_scheduler is not None:
        _local_scheduler(automation_id, at)
    else:
        events.publish_wake(automation_id, at)


def wake_any_worker(automation_id: int) -> None:
    """Tell the scheduler workers now that ``automation_id`` is due, so that any of them may take it.

    Where a scheduler runs in this process and the channel layer reaches other processes (workers
    scaled out on Redis), the wake-up is published on the channel that scheduler listens on, not
    kept by it, whose timers run one step after another: several instances woken at once go to
    several workers. This process's scheduler also arms a timer :data:`BACKSTOP` later, in case
    the event is lost or waits behind a long step of the worker that took it: whichever comes
    first advances the instance, the other finds it no longer due. Elsewhere as :func:`wake_now`.
    """
    scheduler, channel = _local_scheduler, _local_channel
    if scheduler is None or channel is None or not _layer_reaches_other_processes():
        wake_now(automation_id)
        return
    events.publish_wake_to(channel, automation_id)
    scheduler(automation_id, timezone.now() + BACKSTOP)


def _layer_reaches_other_processes() -> bool:
    layer = channels.layers.get_channel_layer()
    return layer is not None and not isinstance(layer, channels.layers.InMemoryChannelLayer)


def mark_due(automation_id) -> None:
    """Make a running instance due now, so that a sweep runs it even if the wake-up is lost."""
    now = timezone.now()
    AutomationModel.objects.running().filter(pk=automation_id).filter(
        Q(wake_at__isnull=True) | Q(wake_at__gt=now)
    ).update(wake_at=now)
