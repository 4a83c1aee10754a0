"""The scheduler worker: turns channel-layer events into engine steps, and keeps the timers.

:class:`Scheduler` listens on ``ATM_CHANNEL_NAME`` and hands every valid event to the sync engine
through ``database_sync_to_async``; invalid events are logged and dropped. It keeps one timer, armed
for the earliest wake time it knows: instances report their next wake time when a step ends (in this
process directly, from other processes as ``automation.wake`` events with ``at``), and each sweep
looks ahead for the next due instances. A due instance therefore runs within milliseconds of its
time, without polling. When it starts and every ``ATM_SWEEP_INTERVAL`` seconds it sweeps the
database for due instances, so that lost events and dead workers only delay work.

Run it with ``manage.py automation_worker`` (scaled out), inside ``manage.py automation_server``
(embedded), or through Channels' ``runworker`` with :class:`SchedulerConsumer` (see ``docs/``).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import logging
from datetime import datetime

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from automations import engine, events, wakeups
from automations import settings as atm_settings

logger = logging.getLogger("automations.scheduler")

LOOKAHEAD = 500  # upcoming wake times loaded from the database at each sweep
SWEEP_BATCH = 50  # instances advanced per database call of a sweep
SWEEP_MAX = 10_000  # instances advanced by one sweep at most
MAX_TIMERS = 50_000  # wake times kept in memory; beyond that the sweeps' look-ahead takes over


class Scheduler:
    """One scheduler worker: a listener on the channel, a timer, and a periodic sweep."""

    def __init__(self, *, channel_layer=None, channel: str | None = None, sweep_interval=None):
        self.channel_layer = channel_layer
        self.channel = channel or events.channel_name()
        if sweep_interval is None:
            sweep_interval = atm_settings.get("ATM_SWEEP_INTERVAL")
        self.sweep_interval = sweep_interval
        self.loop: asyncio.AbstractEventLoop | None = None
        self._due: dict[int, datetime] = {}  # instance id -> earliest wake time known
        self._heap: list[tuple[datetime, int]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._firing: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._stopping: asyncio.Event | None = None
        self.ready = asyncio.Event()  # set by arun() once its first sweep is done
        self.stats = {"events": 0, "invalid": 0, "failed": 0, "timers": 0, "sweeps": 0}

    # -- running --------------------------------------------------------------------------------

    async def arun(self, *, listen: bool = True) -> None:
        """Run until :meth:`stop` is called: sweep, then listen, fire timers and sweep periodically."""
        self.start()
        await self.sweep()
        self.ready.set()
        if listen:
            self._spawn(self._listen())
        self._spawn(self._sweep_periodically())
        await self._stopping.wait()
        await self.aclose()

    def start(self) -> None:
        """Bind to the running event loop and take this process's wake-ups."""
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self.channel_layer is None:
            self.channel_layer = get_channel_layer()
        wakeups.set_local_scheduler(self.schedule_threadsafe)
        self._arm()

    def stop(self) -> None:
        """Ask :meth:`arun` to return; a step already running in the database thread still commits."""
        if self._stopping is not None:
            self._stopping.set()

    async def aclose(self) -> None:
        """Stop the timer and the scheduler's tasks, and stop taking this process's wake-ups."""
        if wakeups._local_scheduler == self.schedule_threadsafe:
            wakeups.set_local_scheduler(None)
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = self.loop.create_task(coroutine, context=_fresh_context())
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task):
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("A scheduler task failed.", exc_info=task.exception())

    # -- events ---------------------------------------------------------------------------------

    async def _listen(self):
        while True:
            try:
                event = await self.channel_layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Could not receive from channel %r; retrying in 1 s.", self.channel)
                await asyncio.sleep(1)
                continue
            await self.dispatch(event)

    async def dispatch(self, raw) -> bool:
        """Handle one raw event; return whether it was valid and handled. Never raises."""
        self.stats["events"] += 1
        try:
            event = events.validate(raw)
        except events.InvalidEventError as exc:
            self.stats["invalid"] += 1
            logger.warning("Invalid event dropped: %s Event: %.300r", exc, raw)
            return False
        if event.type == events.WAKE and event.at is not None and event.at > timezone.now():
            self.schedule(event.automation, event.at)
            return True
        try:
            await database_sync_to_async(events.handle)(event)
        except events.InvalidEventError as exc:
            self.stats["invalid"] += 1
            logger.warning("Event dropped: %s Event: %.300r", exc, raw)
            return False
        except Exception:
            self.stats["failed"] += 1
            logger.exception("Event could not be handled: %.300r", raw)
            return False
        return True

    # -- timers ---------------------------------------------------------------------------------

    def schedule_threadsafe(self, automation_id: int, at: datetime | None = None) -> None:
        """:meth:`schedule` from any thread (the engine's database thread, a request thread)."""
        if self.loop is None or self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.schedule(automation_id, at)
        else:
            self.loop.call_soon_threadsafe(self.schedule, automation_id, at, context=_fresh_context())

    def schedule(self, automation_id: int, at: datetime | None = None) -> None:
        """Advance ``automation_id`` at ``at`` (default: now) if it is still due then."""
        at = at or timezone.now()
        known = self._due.get(automation_id)
        if known is not None and known <= at:
            return
        if known is None and len(self._due) >= MAX_TIMERS:
            return  # the next sweep's look-ahead finds it
        self._due[automation_id] = at
        heapq.heappush(self._heap, (at, automation_id))
        if self._heap[0] == (at, automation_id):
            self._arm()

    def next_wake(self) -> datetime | None:
        """Return the earliest wake time this scheduler's timer is armed for."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def _drop_stale(self):
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

    def _arm(self):
        if self.loop is None:
            return  # not started: start() arms the timer
        if self._firing is not None and not self._firing.done():
            return  # the running firing re-arms when it is done
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        at = self.next_wake()
        if at is None:
            return
        delay = max(0.0, (at - timezone.now()).total_seconds())
        self._timer = self.loop.call_later(delay, self._fire, context=_fresh_context())

    def _fire(self):
        self._timer = None
        self._firing = self._spawn(self._run_due())
        self._firing.add_done_callback(lambda task: self._arm())

    async def _run_due(self):
        while True:
            self._drop_stale()
            now = timezone.now()
            if not self._heap or self._heap[0][0] > now:
                return
            _, automation_id = heapq.heappop(self._heap)
            self._due.pop(automation_id, None)
            self.stats["timers"] += 1
            try:
                result = await database_sync_to_async(_advance_due)(automation_id)
            except Exception:
                logger.exception("Instance %s could not be advanced; the sweep retries.", automation_id)
                continue
            if result.skipped and result.wake_at is not None and result.wake_at > timezone.now():
                self.schedule(automation_id, result.wake_at)

    # -- sweeps ---------------------------------------------------------------------------------

    async def sweep(self) -> dict:
        """Advance the due instances, then load the next wake times into the timer.

        The sweep goes a batch at a time, so that events and timers are served in between; one
        sweep advances at most ``SWEEP_MAX`` instances (the next sweep goes on).
        """
        self.stats["sweeps"] += 1
        counts: dict = {}
        try:
            while True:
                batch = await database_sync_to_async(_sweep_batch)(SWEEP_BATCH)
                for name, value in batch.items():
                    counts[name] = counts.get(name, 0) + value
                if batch["advanced"] < SWEEP_BATCH or counts["advanced"] >= SWEEP_MAX:
                    break
            upcoming = await database_sync_to_async(_after_sweep)()
        except Exception:
            logger.exception("Sweep failed; the next one retries.")
            return counts
        for automation_id, at in upcoming:
            self.schedule(automation_id, at)
        if counts.get("advanced") or counts.get("errors"):
            logger.info("Sweep: %s", counts)
        return counts

    async def _sweep_periodically(self):
        while True:
            await asyncio.sleep(self.sweep_interval)
            await self.sweep()


def _fresh_context() -> contextvars.Context:
    """Return an empty context for the scheduler's own callbacks and tasks.

    A hint arrives from the engine's database thread; a callback or task started from it would
    inherit the context of that ``database_sync_to_async`` call, in which asgiref refuses another
    call ("would deadlock").
    """
    return contextvars.Context()


def _advance_due(automation_id):
    with wakeups.event_scope():
        return engine.advance(automation_id, skip_locked=True, due_only=True)


def _sweep_batch(limit):
    with wakeups.event_scope():
        return engine.sweep(limit=limit)


def _after_sweep():
    """Forget the ids of events handled a day ago; return the next wake times to arm timers for."""
    from automations.models import AutomationModel

    events.forget_handled_events()
    upcoming = AutomationModel.objects.filter(wake_at__gt=timezone.now()).order_by("wake_at", "pk")
    return list(upcoming.values_list("pk", "wake_at")[:LOOKAHEAD])


# -- Channels' runworker --------------------------------------------------------------------------

_process_scheduler: Scheduler | None = None


def process_scheduler() -> Scheduler:
    """Return this process's scheduler for :class:`SchedulerConsumer`, starting its timer and sweeps."""
    global _process_scheduler
    if _process_scheduler is None or _process_scheduler.loop is not asyncio.get_running_loop():
        _process_scheduler = Scheduler()
        _process_scheduler.start()
        _process_scheduler._spawn(_process_scheduler.sweep())
        _process_scheduler._spawn(_process_scheduler._sweep_periodically())
    return _process_scheduler


class SchedulerConsumer(AsyncConsumer):
    """The scheduler as a channel consumer, for ``manage.py runworker automations``.

    Channels' worker starts it at the first event; from then on the process also keeps timers and
    sweeps. Prefer ``manage.py automation_worker``, which sweeps from its start and survives events
    without a ``"type"`` (Channels' worker stops on those).
    """

    async def dispatch(self, message):
        await process_scheduler().dispatch(message)
