"""The scheduler worker's timers: due instances advanced at their wake times, without polling.

One timer is armed for the earliest wake time known: instances report their next wake time when a
step ends (in this process directly, from other processes as ``automation.wake`` events with
``at``, several at once as ``automation.wakes``), and each sweep loads the next wake times from the
database. Other processes' wake times arm timers only for running instances and within
``ATM_WAKE_HORIZON``; at most ``ATM_MAX_TIMERS`` are kept, the earliest (:mod:`.timers`). A timer
whose step failed (the database restarted, a connection was lost) is armed again after a short
delay, doubled after every failure (:mod:`.retrying`), for a sweep interval; then the sweeps have it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from django.db import connections

from automations import settings as atm_settings

from . import database
from .retrying import Retries
from .supervision import fresh_context
from .timers import Timers

logger = logging.getLogger("automations.scheduler")


class Timing:
    """What :class:`~automations.worker.Scheduler` does with wake times: arm, fire, advance."""

    now: Callable[[], datetime]  # the Scheduler's attributes
    stats: dict[str, int]
    sweep_interval: float
    loop: asyncio.AbstractEventLoop | None
    call_later: Callable[..., object] | None
    _timers: Timers
    _timer_retries: Retries
    _closing: bool
    _wake_executor: ThreadPoolExecutor | None

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
                ids = [automation_id for automation_id, _ in near]
                running = await database_sync_to_async(database.running_ids)(ids)
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
        times stored for the next two intervals (:func:`~.database.upcoming`), so that a wake-up refused for
        being too far off is armed by a sweep before it is due.
        """
        return timedelta(seconds=max(atm_settings.get("ATM_WAKE_HORIZON"), 2 * self.sweep_interval))

    async def _advance_now(self, automation_id, at, run=database_sync_to_async) -> bool:
        """Advance ``automation_id`` now (only if due, when woken for ``at``); ``run(func)`` says where."""
        try:
            await run(database.advance_one)(automation_id, at is not None)
        except Exception as exc:
            self.stats["failed"] += 1
            self._retry_timer(automation_id, exc)
            return False
        self._timer_retries.succeeded(automation_id)
        return True

    def _retry_timer(self, automation_id: int, exc: BaseException | None) -> None:
        """Arm the timer of ``automation_id`` again soon: its step failed, most likely on the database.

        The wake time in the database says whether the instance is still due when the timer fires.
        """
        delay = self._timer_retries.failed(automation_id)
        if delay is None:
            logger.error("Instance %s could not be advanced (%r); left to the sweeps.", automation_id, exc)
            return
        if self._timer_retries.failures(automation_id) == 1:
            logger.warning("Instance %s could not be advanced (%r); trying again in %.1f s.",
                           automation_id, exc, delay)  # fmt: skip
        self.schedule(automation_id, self.now() + timedelta(seconds=delay))

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
            self.loop.call_soon_threadsafe(self.schedule, automation_id, at, context=fresh_context())

    def schedule(self, automation_id: int, at: datetime | None = None) -> None:
        """Advance ``automation_id`` at ``at`` (default: now) if it is still due then.

        At most ``ATM_MAX_TIMERS`` timers are kept, the earliest: when they are all taken, a wake time
        earlier than the latest one kept takes its place, and a later one is left to the sweeps.
        """
        at = at or self.now()
        if self._timers.add(automation_id, at) and self._timers.first() == (at, automation_id):
            self._arm()

    def next_wake(self) -> datetime | None:
        """Return the earliest wake time this scheduler's timer is armed for."""
        first = self._timers.first()
        return first[0] if first else None

    def timer_count(self) -> int:
        """Return how many wake times this scheduler keeps (at most ``ATM_MAX_TIMERS``)."""
        return len(self._timers)

    def _arm(self):
        if self.loop is None or self._closing:
            return  # not started: start() arms the timer; closing: the other workers take the timers
        if self._firing is not None and not self._firing.done():
            return  # the running firing re-arms when it is done
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        at = self.next_wake()
        if at is None:
            return
        delay = max(0.0, (at - self.now()).total_seconds() - self.wake_lead())
        if self.call_later is not None:
            self._timer = self.call_later(delay, self._fire)
        else:
            self._timer = self.loop.call_later(delay, self._fire, context=fresh_context())

    def _fire(self):
        self._timer = None
        self._firing = self._spawn(self._run_due())
        self._firing.add_done_callback(lambda task: self._arm())

    def wake_lead(self) -> float:
        """Return how many seconds before their wake time due instances are locked and loaded.

        ``ATM_WAKE_LEAD``: a batch's rows are read ahead, and its steps start at their wake times
        (:func:`~.database.advance_due`). Not on SQLite, where the batch's thread is the one requests
        share, nor on a test clock (``call_later``), whose time passes only when the test says so.
        """
        if self.call_later is not None or connections["default"].vendor == "sqlite":
            return 0.0
        return atm_settings.get("ATM_WAKE_LEAD")

    async def _run_due(self):
        """Advance the instances whose timers are due, a batch per transaction (``database.advance_due``)."""
        while True:
            until = self.now() + timedelta(seconds=self.wake_lead())
            due = self._timers.pop_due(until, atm_settings.get("ATM_WAKE_BATCH"))
            if not due:
                return
            results, left, failures = await self._advance_batch(due)
            for automation_id, at in due:
                if automation_id in left:
                    self.schedule(automation_id, at)  # not reached within the batch's time: the next one
                elif automation_id in results:
                    self._timer_retries.succeeded(automation_id)
                else:
                    self._retry_timer(automation_id, failures.get(automation_id))
            self.stats["timers"] += len(results)
            for automation_id, result in results.items():
                if result.skipped and result.wake_at is not None and result.wake_at > self.now():
                    self.schedule(automation_id, result.wake_at)

    async def _advance_batch(self, due) -> tuple[dict, set, dict]:
        """Advance the due instances ``[(id, wake time)]`` together (see :func:`~.database.advance_due`).

        On SQLite (one writer) the batch runs on the engine's thread, which requests share; on other
        databases on a thread of its own, beside the requests. Return ``({id: StepResult}, ids not
        reached, {id: exception} of the steps that raised)``.
        """
        if connections["default"].vendor == "sqlite":
            run = database_sync_to_async(database.advance_due)
        else:
            if self._wake_executor is None:
                self._wake_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automations-wake")
            run = database_sync_to_async(
                database.advance_due, thread_sensitive=False, executor=self._wake_executor
            )
        automation_ids = [automation_id for automation_id, _ in due]
        try:
            results, left = await run(automation_ids, due_at=dict(due))
            return results, left, {}
        except Exception as exc:
            logger.warning("Instances %s could not be advanced together (%r); advancing them one by one.",
                           automation_ids, exc)  # fmt: skip
            results, failures = await self._advance_one_by_one(automation_ids)
            return results, set(), failures

    async def _advance_one_by_one(self, automation_ids) -> tuple[dict, dict]:
        results, failures = {}, {}
        for automation_id in automation_ids:
            try:
                results[automation_id] = await database_sync_to_async(database.advance_one)(automation_id)
            except Exception as exc:
                failures[automation_id] = exc
        return results, failures
