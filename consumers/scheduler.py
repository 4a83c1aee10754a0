"""The scheduler worker: turns channel-layer events into engine steps, and keeps the timers.

:class:`Scheduler` listens on ``ATM_CHANNEL_NAME``. Every event it receives is first written to the
database inbox (:mod:`automations.inbox`), on a database thread of its own so that a long node in
the engine's thread does not hold it in memory, and confirmed to a publisher that asked for a
receipt; then it is applied once, through the sync engine, on the engine's thread
(``database_sync_to_async``). Invalid events are logged (type and id, bounded) and dropped; a message
the channel layer cannot decode is skipped at once, and counted in a log line now and then.

It keeps one timer, armed for the earliest wake time it knows: instances report their next wake
time when a step ends (in this process directly, from other processes as ``automation.wake`` events
with ``at``, several at once as ``automation.wakes``), and each sweep loads the next wake times
from the database. A due instance therefore runs within milliseconds of its time, without polling.
Other processes' wake times arm timers only for running instances and within ``ATM_WAKE_HORIZON``;
at most ``MAX_TIMERS`` are kept, the earliest (:mod:`consumers.timers`).
When it starts and every ``ATM_SWEEP_INTERVAL`` seconds it sweeps the database for due instances
and for stored events nobody applied. Each worker records a heartbeat; when one stops beating,
another takes over its timers and stored events at once by sweeping.

Its tasks (listening, storing, applying, the heartbeat, the sweeps) are supervised: one that ends
unexpectedly is logged and restarted; if they keep failing, :meth:`Scheduler.arun` raises
:class:`SchedulerFailedError`, so that the process exits and its supervisor restarts it.

Run it with ``manage.py automation_worker`` (scaled out), inside ``manage.py automation_server``
(embedded), or through Channels' ``runworker`` with :class:`SchedulerConsumer` (see ``docs/``).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, connections
from django.utils import timezone
from redis.exceptions import RedisError

from automations import engine, events, inbox, wakeups
from automations import settings as atm_settings
from automations.exceptions import AutomationsError
from automations.logsafe import Throttle, shown
from automations.models import AutomationModel, InboxEvent, WorkerModel

from .timers import Timers

logger = logging.getLogger("automations.scheduler")

LOOKAHEAD = 500  # upcoming wake times loaded at each sweep at least (see _upcoming)
SWEEP_BATCH = 50  # instances advanced per database call of a sweep
WAKE_BATCH = 200  # due instances advanced per transaction when their timers fire together
WAKE_BATCH_SECONDS = 0.1  # on SQLite a batch's steps stop after this long, so that requests get the database
WAKE_BATCH_BESIDE_FACTOR = 5  # ... times this elsewhere, where requests do not wait for the batch's thread
SWEEP_MAX = 10_000  # instances advanced by one sweep at most
MAX_TIMERS = 50_000  # wake times kept in memory, the earliest; the sweeps' look-ahead finds the others
INTAKE_QUEUE = 500  # events received but not yet stored; the listener waits when it is full
INTAKE_BATCH = 100  # events stored in one transaction at most
HEARTBEAT_INTERVAL = 0.5  # seconds between a worker's heartbeats
WORKER_TIMEOUT = timedelta(seconds=2)  # a worker whose heartbeat is older is taken for dead
MAX_RESTARTS = 5  # task restarts within RESTART_WINDOW seconds before the worker gives up
RESTART_WINDOW = 60.0
RECONNECT_DELAY = 1.0  # seconds between tries to receive while the channel layer's server is unreachable
SKIP_PAUSE_EVERY = 100  # messages that could not be received in a row before the listener pauses ...
SKIP_PAUSE = 0.05  # ... this many seconds (see _listen)
SKIP_LOG_INTERVAL = 10.0  # seconds between log lines about messages that could not be received

# What a channel layer raises when it cannot reach its server (channels-redis: redis-py's errors,
# sockets), as opposed to the errors of a message it took from the channel but could not decode.
CONNECTION_ERRORS = (OSError, EOFError, RedisError)


class SchedulerFailedError(AutomationsError, RuntimeError):
    """The scheduler's tasks kept failing: the process should exit and be restarted."""


class Scheduler:
    """One scheduler worker: a listener on the channel, the inbox, a timer, a heartbeat and sweeps."""

    def __init__(
        self, *, channel_layer=None, channel: str | None = None, sweep_interval=None, now=None,
        call_later=None,
    ):  # fmt: skip
        """``now()`` returns the current time (default ``timezone.now()``); ``call_later(delay,
        callback)`` calls ``callback()`` after ``delay`` seconds and returns a handle with ``cancel()``
        (default: the event loop's). Tests pass their own pair to move the time instead of waiting.
        """
        self.channel_layer = channel_layer
        self.now = now or _now
        self.call_later = call_later
        self.channel = channel or events.channel_name()
        if sweep_interval is None:
            sweep_interval = atm_settings.get("ATM_SWEEP_INTERVAL")
        self.sweep_interval = sweep_interval
        self.name = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timers = Timers(MAX_TIMERS)
        self._timer: asyncio.TimerHandle | None = None
        self._firing: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._services: dict[asyncio.Task, tuple[str, object]] = {}
        self._restarts: list[float] = []
        self._stopping: asyncio.Event | None = None
        self._closing = False
        self._received: asyncio.Queue | None = None  # raw events, not yet stored
        self._ready: asyncio.Queue | None = None  # validated events, stored or wake-ups
        self._side_executor: ThreadPoolExecutor | None = None
        self._wake_executor: ThreadPoolExecutor | None = None  # where the database allows, see _run_due
        self._takeover: asyncio.Task | None = None
        self.failure: BaseException | None = None
        self.ready = asyncio.Event()  # set by arun() once its first sweep is done
        self._skip_log = Throttle(SKIP_LOG_INTERVAL)
        self.stats = {"events": 0, "invalid": 0, "failed": 0, "timers": 0, "sweeps": 0, "takeovers": 0,
                      "refused": 0, "undecodable": 0}  # fmt: skip

    # -- running --------------------------------------------------------------------------------

    async def arun(self, *, listen: bool = True) -> None:
        """Run until :meth:`stop` is called: sweep, then listen, fire timers and sweep periodically.

        Raise :class:`SchedulerFailedError` if the worker's tasks kept failing.
        """
        await self.begin(listen=listen)
        await self._stopping.wait()
        await self.aclose()
        if self.failure is not None:
            raise SchedulerFailedError(f"The scheduler worker {self.name} stopped: {self.failure!r}") from (
                self.failure
            )

    def begin(self, *, listen: bool = True) -> asyncio.Task:
        """Start in the running event loop; return the task that beats, sweeps once and starts the rest.

        The scheduler takes this process's wake-ups at once; :meth:`stop` and :meth:`aclose` end it.
        """
        self.start()
        return self._spawn(self.launch(listen=listen))

    def start(self) -> None:
        """Bind to the running event loop and take this process's wake-ups."""
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._received = asyncio.Queue(maxsize=INTAKE_QUEUE)
        self._ready = asyncio.Queue()
        if self.channel_layer is None:
            self.channel_layer = get_channel_layer()
        wakeups.set_local_scheduler(self.schedule_threadsafe)
        self._arm()

    async def launch(self, *, listen: bool = True) -> None:
        """Beat, sweep once, then start the worker's tasks; :meth:`start` first."""
        claimed = await self._beat_once(take_over=False)  # the sweep that follows takes over anyway
        self._service("heartbeat", self._beat)  # a long first sweep must not look like a dead worker
        await self.sweep(dead_workers=claimed)
        await self._release(claimed)
        self.ready.set()
        if listen:
            self._service("listener", self._listen)
            self._service("intake", self._take_in)
        self._service("applier", self._apply_ready)
        self._service("periodic sweep", self._sweep_periodically)

    def stop(self) -> None:
        """Ask :meth:`arun` to return; a step already running in the database thread still commits."""
        if self._stopping is not None:
            self._stopping.set()

    async def aclose(self) -> None:
        """Stop the timer and the scheduler's tasks, and stop taking this process's wake-ups.

        Events received but not yet stored are stored first; stored events not yet applied are
        left to the other workers' sweeps, to which this worker also hands its timers at once.
        """
        self._closing = True
        if wakeups.local_scheduler() == self.schedule_threadsafe:
            wakeups.set_local_scheduler(None)
        if self._timer is not None:
            self._timer.cancel()
        listeners = [task for task, (name, _) in self._services.items() if name == "listener"]
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        if self._received is not None and not self._received.empty():
            await self._store_received()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._wake_executor is not None:
            await self.loop.run_in_executor(None, _close_pool_connections, self._wake_executor, 1)
            self._wake_executor = None
        if self._side_executor is not None:
            try:
                await self._side(_sign_off)(self.name)
            except Exception:
                logger.exception("Worker %s could not sign off; the others take over soon.", self.name)
            await self._side(connections.close_all)()
            self._side_executor.shutdown(wait=False)
            self._side_executor = None

    def _spawn(self, coroutine) -> asyncio.Task:
        task = self.loop.create_task(coroutine, context=_fresh_context())
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _service(self, name, factory) -> asyncio.Task:
        """Run ``factory()`` as a task that is restarted if it ever ends while the worker runs."""
        task = self._spawn(factory())
        self._services[task] = (name, factory)
        return task

    def _finished(self, task):
        self._tasks.discard(task)
        service = self._services.pop(task, None)
        failure = None if task.cancelled() else task.exception()
        if service is None:
            if failure is not None:
                logger.error("A scheduler task failed.", exc_info=failure)
            return
        if self._closing:
            return
        name, factory = service
        now = time.monotonic()
        self._restarts = [moment for moment in self._restarts if now - moment < RESTART_WINDOW]
        self._restarts.append(now)
        if len(self._restarts) > MAX_RESTARTS:
            logger.critical("The scheduler's %s task ended unexpectedly %d times in %g s; the worker stops.",
                            name, len(self._restarts), RESTART_WINDOW, exc_info=failure)  # fmt: skip
            self.failure = failure or RuntimeError(f"the {name} task kept ending")
            self.stop()
            return
        logger.error("The scheduler's %s task ended unexpectedly; restarting it.", name, exc_info=failure)
        delay = 0.1 * len(self._restarts)
        self.loop.call_later(delay, self._restart, name, factory, context=_fresh_context())

    def _restart(self, name, factory):
        if not self._closing:
            self._service(name, factory)

    def _side(self, func):
        """Run sync ``func`` on the worker's own database thread, beside the engine's thread."""
        if self._side_executor is None:
            self._side_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automations-intake")
        return database_sync_to_async(func, thread_sensitive=False, executor=self._side_executor)

    # -- events ---------------------------------------------------------------------------------

    async def _listen(self):
        """Take the events from the channel, into the queue of those to store.

        A message that the channel layer takes but cannot decode (bytes of another serializer or
        other encryption keys, or no message at all) raises in ``receive()``: channels-redis has
        removed it from the channel by then. It is skipped at once, counted and logged now and
        then (``SKIP_LOG_INTERVAL``). Only a connection error waits before trying again.
        """
        lost, skipped = False, 0  # skipped: messages in a row that could not be received
        while True:
            try:
                raw = await self.channel_layer.receive(self.channel)
            except CONNECTION_ERRORS as exc:
                if not lost:
                    logger.error("Could not receive from channel %r (%r); retrying every %g s.",
                                 self.channel, exc, RECONNECT_DELAY)  # fmt: skip
                lost = True
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            except Exception as exc:
                lost = self._receiving_again(lost)
                skipped += 1
                self._skipped(exc)
                # The next message may well be readable: no wait. Yet an error that recurs without
                # taking a message would keep the listener spinning; a short pause every
                # SKIP_PAUSE_EVERY failures in a row bounds that, and costs a flood of bad messages
                # little. sleep(0) lets the event loop's other tasks run in between.
                await asyncio.sleep(SKIP_PAUSE if skipped % SKIP_PAUSE_EVERY == 0 else 0)
                continue
            lost, skipped = self._receiving_again(lost), 0
            await self._received.put(raw)

    def _receiving_again(self, lost) -> bool:
        if lost:
            logger.warning("Receiving from channel %r again.", self.channel)
        return False

    def _skipped(self, exc) -> None:
        self.stats["undecodable"] += 1
        count = self._skip_log.passes()
        if count:
            logger.warning(
                "Skipped %d message(s) on channel %r that could not be received (the last: %s: %s). "
                "Do all senders use this site's channel layer settings (serializer, encryption keys)?",
                count, self.channel, type(exc).__name__, shown(str(exc)),
            )  # fmt: skip

    async def _take_in(self):
        while True:
            await self._store_received([await self._received.get()])

    async def _store_received(self, batch=None):
        """Store what the listener received, confirm it, and pass it on to be applied."""
        batch = batch or []
        while len(batch) < INTAKE_BATCH and not self._received.empty():
            batch.append(self._received.get_nowait())
        self.stats["events"] += len(batch)
        intakes = await self._store(batch)
        for intake in intakes:  # stored: the engine's thread may apply them while the receipts go out
            if intake.event is None:
                self.stats["invalid"] += 1
            else:
                self._ready.put_nowait(intake.event)
        for intake in intakes:
            await self._reply(intake)

    async def _store(self, batch):
        """Store ``batch`` in the inbox; while the database fails, keep it and try again."""
        delay = 0.1
        while True:
            try:
                return await self._side(inbox.accept)(batch, worker=self.name)
            except Exception as exc:
                logger.error("Could not store %d received event(s) (%r); trying again in %.1f s.",
                             len(batch), exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _reply(self, intake):
        await send_receipt(self.channel_layer or get_channel_layer(), intake)

    async def _apply_ready(self):
        while True:
            event = await self._ready.get()
            await self._handle(event)

    async def dispatch(self, raw) -> bool:
        """Store, confirm and apply one raw event now; return whether it was valid and applied.

        An event applied already (a duplicate) counts as applied. Never raises.
        """
        self.stats["events"] += 1
        try:
            intake = (await database_sync_to_async(inbox.accept)([raw], worker=self.name))[0]
        except Exception:
            self.stats["failed"] += 1
            logger.exception("Event (%s) could not be stored.", inbox.describe(raw))
            return False
        await self._reply(intake)
        if intake.event is None:
            self.stats["invalid"] += 1
            return False
        return await self._handle(intake.event)

    async def _handle(self, event) -> bool:
        """Apply a validated event (stored in the inbox unless it is a wake-up); never raises."""
        if event.type == events.WAKE:
            return await self._wake([(event.automation, event.at)])
        if event.type == events.WAKES:
            return await self._wake(event.data)
        try:
            outcome = await database_sync_to_async(inbox.apply)(event.id)
        except Exception:
            self.stats["failed"] += 1
            logger.exception("Event (%s) not handled; a sweep retries it.", inbox.describe(event.raw))
            return False
        if outcome == InboxEvent.REJECTED:
            self.stats["invalid"] += 1
        elif outcome == InboxEvent.FAILED:
            self.stats["failed"] += 1
        return outcome not in (InboxEvent.REJECTED, InboxEvent.FAILED)

    async def _wake(self, wakes) -> bool:
        """Advance the instances of the wake-ups ``[(id, at)]`` due now; arm timers for the others.

        A wake-up from another process due later arms a timer only for an instance that runs, and
        only within the horizon (see :meth:`_arm_reported`); the others are refused, and left to
        the sweeps, which arm every wake time stored in the database when it comes near.
        """
        now = self.now()
        later = [(automation_id, at) for automation_id, at in wakes if at is not None and at > now]
        checked = await self._arm_reported(later, now) if later else True
        due = [(automation_id, at) for automation_id, at in wakes if at is None or at <= now]
        woken = [await self._advance_now(automation_id, at) for automation_id, at in due]
        return checked and all(woken)

    async def _arm_reported(self, wakes, now) -> bool:
        """Arm timers for the wake-ups ``[(id, at)]`` reported by another process, those that pass.

        Refused are wake-ups of instances that do not exist, have finished or were stopped by an
        error, and those due beyond the horizon (see :meth:`wake_horizon`): no process can fill the
        timers with made-up or far-off wake-ups. Return False if the database could not be asked.
        """
        horizon = now + self.wake_horizon()
        near = [(automation_id, at) for automation_id, at in wakes if at <= horizon]
        running = set()
        try:
            if near:
                running = await database_sync_to_async(_running)([automation_id for automation_id, _ in near])
        except Exception:
            self.stats["failed"] += 1
            logger.exception("Wake-ups of %d instance(s) not checked; the sweeps find them.", len(near))
            return False
        armed = [(automation_id, at) for automation_id, at in near if automation_id in running]
        for automation_id, at in armed:
            self.schedule(automation_id, at)
        refused = len(wakes) - len(armed)
        if refused:
            self.stats["refused"] += refused
            logger.debug("Wake-ups refused: %d of %d, for instances that do not run or beyond %s.",
                         refused, len(wakes), horizon.isoformat())  # fmt: skip
        return True

    def wake_horizon(self) -> timedelta:
        """Return how far ahead a wake-up from another process may arm a timer.

        ``ATM_WAKE_HORIZON`` seconds, and at least two sweep intervals: every sweep arms the wake
        times stored for the next two intervals (:func:`_upcoming`), so that a wake-up refused for
        being too far off is armed by a sweep before it is due.
        """
        return timedelta(seconds=max(atm_settings.get("ATM_WAKE_HORIZON"), 2 * self.sweep_interval))

    async def _advance_now(self, automation_id, at) -> bool:
        try:
            await database_sync_to_async(_advance)(automation_id, at is not None)
        except Exception:
            self.stats["failed"] += 1
            logger.exception("Instance %s could not be advanced; the sweep retries.", automation_id)
            return False
        return True

    # -- heartbeat ------------------------------------------------------------------------------

    async def _beat(self):
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            await self._beat_once()

    async def _beat_once(self, take_over=True) -> list[str]:
        """Record this worker's heartbeat; if others' have stopped, claim them and take over their work.

        Return the workers claimed. A claimed worker's row is deleted once the sweep that takes over
        is done; should the claiming worker die first, the row looks dead again and another claims it.
        """
        try:
            dead = await self._side(_heartbeat)(self.name)
        except Exception as exc:
            logger.warning("Heartbeat of worker %s not recorded (%r).", self.name, exc)
            return []
        if dead and take_over:
            self.stats["takeovers"] += 1
            logger.warning("Worker(s) %s stopped; taking over their timers and events.", ", ".join(dead))
            self._spawn(self._take_over(dead))
        return dead

    async def _take_over(self, dead):
        await self.sweep(dead_workers=dead)
        await self._release(dead)

    async def _release(self, claimed):
        if claimed:
            try:
                await self._side(_forget_workers)(claimed)
            except Exception as exc:
                logger.warning("Stopped workers %s not forgotten (%r); they are claimed again.", claimed, exc)

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
        """Advance ``automation_id`` at ``at`` (default: now) if it is still due then.

        At most ``MAX_TIMERS`` timers are kept, the earliest: when they are all taken, a wake time
        earlier than the latest one kept takes its place, and a later one is left to the sweeps.
        """
        at = at or self.now()
        if self._timers.add(automation_id, at) and self._timers.first() == (at, automation_id):
            self._arm()

    def next_wake(self) -> datetime | None:
        """Return the earliest wake time this scheduler's timer is armed for."""
        first = self._timers.first()
        return first[0] if first else None

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
        delay = max(0.0, (at - self.now()).total_seconds())
        if self.call_later is not None:
            self._timer = self.call_later(delay, self._fire)
        else:
            self._timer = self.loop.call_later(delay, self._fire, context=_fresh_context())

    def _fire(self):
        self._timer = None
        self._firing = self._spawn(self._run_due())
        self._firing.add_done_callback(lambda task: self._arm())

    async def _run_due(self):
        """Advance the instances whose timers are due, a batch per transaction (see :func:`_advance_due`)."""
        while True:
            due = self._timers.pop_due(self.now(), WAKE_BATCH)
            if not due:
                return
            results, left = await self._advance_batch(due)
            for automation_id, at in due:
                if automation_id in left:
                    self.schedule(automation_id, at)  # not reached within the batch's time: the next one
            self.stats["timers"] += len(results)
            for automation_id, result in results.items():
                if result.skipped and result.wake_at is not None and result.wake_at > self.now():
                    self.schedule(automation_id, result.wake_at)

    async def _advance_batch(self, due) -> tuple[dict, set]:
        """Advance the due instances ``[(id, wake time)]`` together (see :func:`_advance_due`).

        On SQLite (one writer) the batch runs on the engine's thread, which requests share; on other
        databases on a thread of its own, beside the requests.
        """
        if connections["default"].vendor == "sqlite":
            run = database_sync_to_async(_advance_due)
        else:
            if self._wake_executor is None:
                self._wake_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automations-wake")
            run = database_sync_to_async(_advance_due, thread_sensitive=False, executor=self._wake_executor)
        automation_ids = [automation_id for automation_id, _ in due]
        try:
            return await run(automation_ids)
        except Exception:
            logger.exception("Instances %s could not be advanced together; advancing them one by one.",
                             automation_ids)  # fmt: skip
            return await self._advance_one_by_one(automation_ids), set()

    async def _advance_one_by_one(self, automation_ids) -> dict:
        results = {}
        for automation_id in automation_ids:
            try:
                results[automation_id] = await database_sync_to_async(_advance)(automation_id)
            except Exception:
                logger.exception("Instance %s could not be advanced; the sweep retries.", automation_id)
        return results

    # -- sweeps ---------------------------------------------------------------------------------

    async def sweep(self, *, dead_workers=()) -> dict:
        """Apply stored events nobody applies, advance the due instances, and load the next wake times.

        Stored events are those of dead workers, older than ``inbox.PENDING_GRACE``, or stored
        without a worker. The sweep goes a batch at a time, so that events and timers are served in
        between; one sweep advances at most ``SWEEP_MAX`` instances (the next sweep goes on). Every
        wake time the sweep leaves in the database, also one that fell due while it ran, is armed,
        and the earliest ones are armed before it starts, so that timers are not held up by it.
        ``dead_workers`` are workers whose stored events are taken over whatever their heartbeat says.
        """
        self.stats["sweeps"] += 1
        counts: dict = {}
        try:
            within = 2 * self.sweep_interval
            for automation_id, at in await database_sync_to_async(_upcoming)(within):
                self.schedule(automation_id, at)
            counts["events"], tried = 0, set()
            while True:
                applied = await database_sync_to_async(_sweep_inbox)(SWEEP_BATCH, dead_workers, tried)
                counts["events"] += sum(applied.values())
                if not any(applied.values()) or counts["events"] >= SWEEP_MAX:
                    break
            while True:
                batch = await database_sync_to_async(_sweep_batch)(SWEEP_BATCH)
                for name, value in batch.items():
                    counts[name] = counts.get(name, 0) + value
                if batch["advanced"] < SWEEP_BATCH or counts["advanced"] >= SWEEP_MAX:
                    break
            upcoming = await database_sync_to_async(_after_sweep)(within)
        except Exception:
            logger.exception("Sweep failed; the next one retries.")
            return counts
        for automation_id, at in upcoming:
            self.schedule(automation_id, at)
        if counts.get("advanced") or counts.get("errors") or counts.get("events"):
            logger.info("Sweep: %s", counts)
        return counts

    async def _sweep_periodically(self):
        while True:
            await asyncio.sleep(self.sweep_interval)
            await self.sweep()


async def send_receipt(channel_layer, intake) -> None:
    """Log a refused event; send the receipt to the event's ``reply_channel`` if it has one."""
    if intake.error is not None:
        logger.warning("Invalid event dropped (%s): %s", inbox.describe(intake.raw), intake.error)
    if intake.reply_channel is None:
        return
    try:
        await channel_layer.send(intake.reply_channel, intake.receipt())
    except Exception as exc:  # the publisher sends the event again and gets the receipt then
        logger.warning("Receipt for event (%s) not sent (%r).", inbox.describe(intake.raw), exc)


async def take_waiting_events(*, channel: str | None = None, limit: int = 10_000, wait: float = 0.05) -> int:
    """Take the events waiting in the channel, store them in the inbox and answer their receipts.

    What ``automation_step`` does where no worker listens. Waits ``wait`` seconds for each next
    event; stops when none comes, after ``limit`` events, or if the channel layer fails. Wake-ups
    are dropped: the database already says what is due. Return how many events were taken.
    """
    layer = get_channel_layer()
    channel = channel or events.channel_name()
    received, skipped, problem = [], 0, None
    while len(received) + skipped < limit:
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), wait))
        except TimeoutError:
            break
        except CONNECTION_ERRORS as exc:
            logger.warning("Could not receive from channel %r (%r).", channel, exc)
            break
        except Exception as exc:  # a message that could not be decoded, taken from the channel
            skipped, problem = skipped + 1, f"{type(exc).__name__}: {shown(str(exc))}"
    if skipped:
        logger.warning("Skipped %d message(s) on channel %r that could not be received (the last: %s).",
                       skipped, channel, problem)  # fmt: skip
    if received:
        for intake in await database_sync_to_async(inbox.accept)(received):
            await send_receipt(layer, intake)
    return len(received)




def _now() -> datetime:
    return timezone.now()  # looked up at each call, so that a test's frozen clock counts


def _fresh_context() -> contextvars.Context:
    """Return an empty context for the scheduler's own callbacks and tasks.

    A hint arrives from the engine's database thread; a callback or task started from it would
    inherit the context of that ``database_sync_to_async`` call, in which asgiref refuses another
    call ("would deadlock").
    """
    return contextvars.Context()


def _advance(automation_id, due_only=True):
    with wakeups.event_scope():
        return engine.advance(automation_id, skip_locked=True, due_only=due_only)


def _advance_due(automation_ids) -> tuple[dict, set]:
    """Advance the due instances ``automation_ids`` together (``engine.advance_due``): one commit
    (and one hop to this thread) for the batch instead of one per instance.

    The steps stop after ``WAKE_BATCH_SECONDS`` on SQLite, so that requests waiting for the
    database get their turn (``WAKE_BATCH_BESIDE_FACTOR`` times that elsewhere). A step that raises
    is rolled back alone, logged and left to the sweep; a database failure that spoils the
    transaction raises, and the caller advances the instances one by one. Return
    ``({id: StepResult}, ids not reached)``.
    """
    seconds = WAKE_BATCH_SECONDS * (1 if connection.vendor == "sqlite" else WAKE_BATCH_BESIDE_FACTOR)
    with wakeups.event_scope():
        results, left = engine.advance_due(automation_ids, seconds=seconds)
    return results, set(left)


def _close_pool_connections(executor, threads) -> None:
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


def _sweep_batch(limit):
    with wakeups.event_scope():
        return engine.sweep(limit=limit)


def _sweep_inbox(limit, dead_workers, tried):
    """Apply up to ``limit`` stored events that no live worker is applying; return counts by outcome."""
    live = set(_live_workers()) - set(dead_workers)
    return inbox.apply_pending(limit=limit, live_workers=live, tried=tried)


def _after_sweep(within):
    """Forget the events handled a day ago; return the earliest wake times to arm timers for.

    Wake times that have passed are included: an instance that fell due while the sweep ran is run
    by the timer at once instead of waiting for the next sweep.
    """
    inbox.forget_handled()
    return _upcoming(within)


def _upcoming(within: float) -> list:
    """Return ``(id, wake time)`` of the instances due next, earliest first, for the timers.

    The first ``LOOKAHEAD``, and beyond those every one due within ``within`` seconds (up to
    ``MAX_TIMERS``): all that fall due before the next sweep looks again get a timer.
    """
    upcoming = AutomationModel.objects.filter(wake_at__isnull=False).order_by("wake_at", "pk")
    upcoming = upcoming.values_list("pk", "wake_at")
    rows = list(upcoming[:LOOKAHEAD])
    until = timezone.now() + timedelta(seconds=within)
    if len(rows) == LOOKAHEAD and rows[-1][1] <= until:
        rows += upcoming.filter(wake_at__lte=until)[LOOKAHEAD:MAX_TIMERS]
    return rows


def _running(automation_ids) -> set[int]:
    """Return those of ``automation_ids`` that are instances neither finished nor stopped by an error."""
    running = AutomationModel.objects.running().filter(pk__in=automation_ids)
    return set(running.values_list("pk", flat=True))


def _live_workers() -> list[str]:
    cutoff = timezone.now() - WORKER_TIMEOUT
    return list(WorkerModel.objects.filter(seen__gte=cutoff).values_list("name", flat=True))


def _heartbeat(name) -> list[str]:
    """Record that worker ``name`` is alive; claim the workers that stopped beating and return them.

    Of several workers that find the same dead one, the one whose update refreshes its row claims
    it; the refreshed row looks dead again after ``WORKER_TIMEOUT`` unless the claim ends first
    (:func:`_forget_workers`).
    """
    now = timezone.now()
    if not WorkerModel.objects.filter(name=name).update(seen=now):
        WorkerModel.objects.get_or_create(name=name, defaults={"started": now, "seen": now})
    stale = WorkerModel.objects.filter(seen__lt=now - WORKER_TIMEOUT)
    claimed = []
    for other in stale.values_list("name", flat=True):
        if stale.filter(name=other).update(seen=now):
            claimed.append(other)
    return claimed


def _forget_workers(names) -> None:
    """Delete the rows of stopped workers whose work has been taken over."""
    WorkerModel.objects.filter(name__in=names).delete()


def _sign_off(name) -> None:
    """Leave worker ``name``'s row looking dead, so that another worker takes over its timers now."""
    WorkerModel.objects.filter(name=name).update(seen=timezone.now() - 10 * WORKER_TIMEOUT)


# -- Channels' runworker --------------------------------------------------------------------------

_process_scheduler: Scheduler | None = None


def process_scheduler() -> Scheduler:
    """Return this process's scheduler for :class:`SchedulerConsumer`, starting its timer and sweeps."""
    global _process_scheduler
    if _process_scheduler is None or _process_scheduler.loop is not asyncio.get_running_loop():
        _process_scheduler = Scheduler()
        _process_scheduler.begin(listen=False)
    return _process_scheduler


class SchedulerConsumer(AsyncConsumer):
    """The scheduler as a channel consumer, for ``manage.py runworker automations``.

    Channels' worker starts it at the first event; from then on the process also keeps timers and
    sweeps. Prefer ``manage.py automation_worker``, which sweeps from its start and survives events
    without a ``"type"`` (Channels' worker stops on those).
    """

    async def dispatch(self, message):
        await process_scheduler().dispatch(message)
