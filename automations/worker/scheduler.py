"""The scheduler worker: turns channel-layer events into engine steps, and keeps the timers.

:class:`Scheduler` listens on ``ATM_CHANNEL_NAME`` (:mod:`.intake`), keeps one timer for the earliest
wake time it knows (:mod:`.timing`), sweeps when it starts and every ``ATM_SWEEP_INTERVAL`` seconds,
beats and takes over dead workers (:mod:`.sweeping`), deletes old finished instances
(:mod:`.retention`); its tasks are supervised (:mod:`.supervision`). Stored events are applied in
lanes, one instance's in order and different instances' side by side (:mod:`.lanes`); what fails
for a passing reason is tried again soon (:mod:`.retrying`). What it does in the database is in
:mod:`.database`.

Run it with ``manage.py automation_worker`` (scaled out), inside ``manage.py automation_server``
(embedded), or through Channels' ``runworker`` with ``consumers.scheduler.SchedulerConsumer``
(see ``docs/deployment.md``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from channels.layers import get_channel_layer
from django.db import connections
from django.utils import timezone

from automations import events
from automations import settings as atm_settings
from automations.events import wakeups
from automations.logsafe import Throttle

from . import database
from .intake import Intake
from .lanes import Lanes
from .retention import Retention
from .retrying import Backoff, Retries
from .supervision import SchedulerFailedError, Supervised
from .sweeping import Sweeping
from .timers import Timers
from .timing import Timing

logger = logging.getLogger("automations.scheduler")


class Scheduler(Intake, Timing, Sweeping, Retention, Supervised):
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
        self._timers = Timers(atm_settings.get("ATM_MAX_TIMERS"))
        self._timer: asyncio.TimerHandle | None = None
        self._firing: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._services: dict[asyncio.Task, tuple[str, object]] = {}
        self._restarts: list[float] = []
        self._stopping = asyncio.Event()  # replaced by start(): stop() before it changes nothing
        self._closing = False
        self._received: asyncio.Queue | None = None  # raw events, not yet stored
        self._ready: asyncio.Queue | None = None  # validated events, stored or wake-ups
        self._side_executor: ThreadPoolExecutor | None = None
        self._apply_executor: ThreadPoolExecutor | None = None  # where the database allows, see _applying
        self._apply_threads = 0
        self._wake_executor: ThreadPoolExecutor | None = None  # where the database allows, see _run_due
        self._takeover: asyncio.Task | None = None
        self._lanes = Lanes(self._apply_once, self._spawn)
        self._event_retries = Retries(sweep_interval)  # then the sweeps take over the retries
        self._timer_retries = Retries(sweep_interval)
        self._sweep_backoff = Backoff()
        self._sweep_retry: asyncio.Task | None = None
        self._claimed: set[str] = set()  # stopped workers whose work this one is taking over
        self._settled_once = False  # a sweep has made due what a deploy's declarations map
        self.failure: BaseException | None = None
        self.ready = asyncio.Event()  # set by arun() once its first sweep is done
        self._skip_log = Throttle(atm_settings.get("ATM_UNDECODABLE_LOG_INTERVAL"))
        self.stats = {"events": 0, "invalid": 0, "failed": 0, "timers": 0, "sweeps": 0, "takeovers": 0,
                      "refused": 0, "undecodable": 0, "deleted": 0}  # fmt: skip

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
        self._received = asyncio.Queue(maxsize=atm_settings.get("ATM_INTAKE_QUEUE"))
        self._ready = asyncio.Queue()
        if self.channel_layer is None:
            self.channel_layer = get_channel_layer()
        wakeups.set_local_scheduler(self.schedule_threadsafe, channel=self.channel)
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
        self._service("history retention", self._delete_history_periodically)

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
        loop = asyncio.get_running_loop()
        if self._wake_executor is not None:
            await loop.run_in_executor(None, database.close_pool_connections, self._wake_executor, 1)
            self._wake_executor = None
        if self._apply_executor is not None:
            threads = self._apply_threads
            await loop.run_in_executor(None, database.close_pool_connections, self._apply_executor, threads)
            self._apply_executor = None
        if self._side_executor is not None:
            try:
                await self._side(database.sign_off)(self.name)
            except Exception:
                logger.exception("Worker %s could not sign off; the others take over soon.", self.name)
            await self._side(connections.close_all)()
            self._side_executor.shutdown(wait=False)
            self._side_executor = None


def _now() -> datetime:
    return timezone.now()  # looked up at each call, so that a test's frozen clock counts


# -- Channels' runworker ---------------------------------------------------------------------------

_process_scheduler: Scheduler | None = None


def process_scheduler() -> Scheduler:
    """Return this process's scheduler for :class:`SchedulerConsumer`, starting its timer and sweeps."""
    global _process_scheduler
    if _process_scheduler is None or _process_scheduler.loop is not asyncio.get_running_loop():
        _process_scheduler = Scheduler()
        _process_scheduler.begin(listen=False)
    return _process_scheduler


async def close_process_scheduler() -> None:
    """Close this process's scheduler, if one was started; the next :func:`process_scheduler` starts anew."""
    global _process_scheduler
    scheduler, _process_scheduler = _process_scheduler, None
    if scheduler is not None:
        await scheduler.aclose()
