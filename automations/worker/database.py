"""What the scheduler worker does in the database: the sync functions it runs on its database threads.

Advancing instances (one, or a batch due at once), sweeping, the wake times to arm, the
workers' heartbeats, and deleting old finished instances. Each is a plain function; the worker
calls it through ``database_sync_to_async`` on the engine's thread or on a thread of its own.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connection, connections
from django.utils import timezone

from automations import engine, events, history
from automations import settings as atm_settings
from automations.events import inbox, wakeups
from automations.models import AutomationModel, InboxEvent, WorkerModel
from automations.versions import retry


def worker_timeout() -> timedelta:
    """Return how old a worker's heartbeat may be before it is taken for dead (``ATM_WORKER_TIMEOUT``)."""
    return timedelta(seconds=atm_settings.get("ATM_WORKER_TIMEOUT"))


def advance_one(automation_id, due_only=True):
    with wakeups.event_scope():
        return engine.advance(automation_id, skip_locked=True, due_only=due_only)


def advance_due(automation_ids, due_at=None) -> tuple[dict, set]:
    """Advance the due instances ``automation_ids`` together (``engine.advance_due``): one commit
    (and one hop to this thread) for the batch instead of one per instance.

    ``due_at`` maps ids to their wake times: the rows are locked and loaded at once, and each step
    starts at its wake time (the scheduler calls this ``ATM_WAKE_LEAD`` seconds ahead).

    The steps stop after ``ATM_WAKE_BATCH_SECONDS`` on SQLite, so that requests waiting for the
    database get their turn (``ATM_WAKE_BATCH_SECONDS_FACTOR`` times that elsewhere, where
    requests do not wait for this thread). A step that raises
    is rolled back alone, logged and left to the sweep; a database failure that spoils the
    transaction raises, and the caller advances the instances one by one. Return
    ``({id: StepResult}, ids not reached)``.
    """
    seconds = atm_settings.get("ATM_WAKE_BATCH_SECONDS")
    if connection.vendor != "sqlite":
        seconds *= atm_settings.get("ATM_WAKE_BATCH_SECONDS_FACTOR")
    with wakeups.event_scope():
        results, left = engine.advance_due(automation_ids, seconds=seconds, due_at=due_at)
    return results, set(left)


def close_pool_connections(executor, threads) -> None:
    """Close the database connections of every thread of ``executor``, then shut it down."""
    barrier = threading.Barrier(threads)

    def close():
        try:
            barrier.wait(timeout=5)  # one call per thread: each waits until all threads have one
        except threading.BrokenBarrierError:
            pass
        connections.close_all()

    for future in [executor.submit(close) for _ in range(threads)]:
        future.result()
    executor.shutdown(wait=True)


def sweep_due(limit):
    with wakeups.event_scope():
        return engine.sweep(limit=limit)


def apply_pending_events(limit, dead_workers, tried, locked=None):
    """Apply up to ``limit`` stored events that no live worker is applying; return counts by outcome.

    ``locked`` collects the ids of those whose instance's row was held (see ``inbox.apply_pending``).
    """
    live = set(live_workers()) - set(dead_workers)
    return inbox.apply_pending(limit=limit, live_workers=live, tried=tried, locked=locked)


def stored_events(event_ids) -> list[events.Event]:
    """Return the stored events ``event_ids`` not yet handled, validated; those no longer valid are
    left out (``inbox.apply()`` rejects them)."""
    found = []
    pending = InboxEvent.objects.filter(pk__in=list(event_ids), handled__isnull=True)
    for raw in pending.order_by("received", "pk").values_list("event", flat=True):
        try:
            found.append(events.validate(raw))
        except events.InvalidEventError:
            continue
    return found


def after_sweep(within):
    """Run the sweep jobs apps registered (``engine.sweep_jobs``: the deadline reminders), forget the
    events handled a day ago; return the earliest wake times to arm timers for.

    Wake times that have passed are included: an instance that fell due while the sweep ran is run
    by the timer at once instead of waiting for the next sweep.
    """
    engine.sweep_jobs.run()
    inbox.forget_handled()
    return upcoming(within)


def delete_finished(size: int) -> history.Batch | None:
    """Delete at most ``size`` instances finished more than ``ATM_FINISHED_KEPT_DAYS`` days ago, the
    oldest, in one transaction; return what the batch did, or ``None`` if they are kept for ever."""
    days = atm_settings.get("ATM_FINISHED_KEPT_DAYS")
    if days is None:
        return None
    cutoff = timezone.now() - timedelta(days=days)
    return history.delete_batch(AutomationModel.objects.finished_before(cutoff), size)


def upcoming(within: float) -> list:
    """Return ``(id, wake time)`` of the instances due next, earliest first, for the timers.

    The first ``ATM_SWEEP_LOOKAHEAD``, and beyond those every one due within ``within`` seconds (up to
    ``ATM_MAX_TIMERS``): all that fall due before the next sweep looks again get a timer.
    """
    upcoming = (
        AutomationModel.objects.filter(wake_at__isnull=False)
        .order_by("wake_at", "pk")
        .values_list("pk", "wake_at")
    )
    lookahead, most = atm_settings.get("ATM_SWEEP_LOOKAHEAD"), atm_settings.get("ATM_MAX_TIMERS")
    rows = list(upcoming[:lookahead])
    until = timezone.now() + timedelta(seconds=within)
    if len(rows) == lookahead and rows[-1][1] <= until:  # type: ignore[operator]  # not null: filtered above
        rows += upcoming.filter(wake_at__lte=until)[lookahead:most]
    return rows


def running_ids(automation_ids) -> set[int]:
    """Return those of ``automation_ids`` that are instances neither finished nor stopped by an error."""
    running = AutomationModel.objects.running().filter(pk__in=automation_ids)
    return set(running.values_list("pk", flat=True))


def live_workers() -> list[str]:
    cutoff = timezone.now() - worker_timeout()
    return list(WorkerModel.objects.filter(seen__gte=cutoff).values_list("name", flat=True))


def heartbeat(name, claimed=()) -> list[str]:
    """Record that worker ``name`` is alive; claim the workers that stopped beating and return them.

    Of several workers that find the same dead one, the one whose update refreshes its row claims
    it. The claimant refreshes the rows it ``claimed`` with its own at each heartbeat until the
    takeover is done (:func:`~.database.forget_workers`): a claimed row looks dead again only if
    the claimant stops beating too.
    """
    now = timezone.now()
    if WorkerModel.objects.filter(name__in=[name, *claimed]).update(seen=now) <= len(claimed):
        WorkerModel.objects.get_or_create(name=name, defaults={"started": now, "seen": now})
    stale = WorkerModel.objects.filter(seen__lt=now - worker_timeout())
    claimed = []
    for other in stale.values_list("name", flat=True):
        if stale.filter(name=other).update(seen=now):
            claimed.append(other)
    return claimed


def forget_workers(names) -> None:
    """Delete the rows of stopped workers whose work has been taken over."""
    WorkerModel.objects.filter(name__in=names).delete()


def sign_off(name) -> None:
    """Leave worker ``name``'s row looking dead, so that another worker takes over its timers now."""
    WorkerModel.objects.filter(name=name).update(seen=timezone.now() - 10 * worker_timeout())


def settle_versions(first: bool) -> int:
    """Make due the instances a deploy mapped (all at a worker's first sweep, else the held ones)."""
    return retry.wake_movable() if first else retry.retry_held()
