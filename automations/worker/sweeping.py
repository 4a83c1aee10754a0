"""The scheduler worker's sweeps and heartbeat: the safety net for lost events and dead workers.

When it starts and every ``ATM_SWEEP_INTERVAL`` seconds a worker sweeps the database for due
instances and for stored events nobody applied; a sweep that fails (the database restarted) is
run again after a short delay, doubled after every failure (:mod:`.retrying`). Stored events
whose instance's row is held go into the worker's lanes, which try them again soon. Each worker
records a heartbeat every ``ATM_HEARTBEAT_INTERVAL`` seconds; when one stops beating for
``ATM_WORKER_TIMEOUT`` seconds, another claims it and takes over its timers and stored events at
once by sweeping. The claimant's heartbeats keep its claims fresh until the takeover is done, so
that a worker is taken over once, however long the takeover takes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async

from automations import settings as atm_settings
from automations.events import inbox

from . import database
from .lanes import Lanes
from .retrying import Backoff

logger = logging.getLogger("automations.scheduler")


class Sweeping:
    """What :class:`~automations.worker.Scheduler` does to sweep, beat and take over."""

    name: str  # the Scheduler's attributes, and methods of its Timing and Supervised
    stats: dict[str, int]
    sweep_interval: float
    schedule: Callable[[int, datetime | None], None]
    _side: Callable[[Callable[..., Any]], Callable[..., Awaitable[Any]]]
    _spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task]
    _lanes: Lanes
    _sweep_backoff: Backoff
    _sweep_retry: asyncio.Task | None
    _claimed: set[str]
    _settled_once: bool

    async def _beat(self):
        while True:
            await asyncio.sleep(atm_settings.get("ATM_HEARTBEAT_INTERVAL"))
            await self._beat_once()

    async def _beat_once(self, take_over=True) -> list[str]:
        """Record this worker's heartbeat; if others' have stopped, claim them and take over their work.

        Return the workers claimed. A claimed worker's row is deleted once the sweep that takes over
        is done; should the claiming worker die first, the row looks dead again and another claims it.
        """
        try:
            dead = await self._side(database.heartbeat)(self.name, sorted(self._claimed))
        except Exception as exc:
            logger.warning("Heartbeat of worker %s not recorded (%r).", self.name, exc)
            return []
        self._claimed.update(dead)
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
                await self._side(database.forget_workers)(claimed)
            except Exception as exc:
                logger.warning("Stopped workers %s not forgotten (%r); they are claimed again.", claimed, exc)
            finally:
                self._claimed.difference_update(claimed)

    async def sweep(self, *, dead_workers=()) -> dict:
        """Apply stored events nobody applies, advance the due instances, and load the next wake times.

        Stored events are those of dead workers, older than ``ATM_EVENT_PENDING_GRACE``, or stored
        without a worker. The sweep goes a batch at a time, so that events and timers are served in
        between; one sweep advances at most ``ATM_SWEEP_MAX`` instances (the next sweep goes on). Every
        wake time the sweep leaves in the database, also one that fell due while it ran, is armed,
        and the earliest ones are armed before it starts, so that timers are not held up by it.
        ``dead_workers`` are workers whose stored events are taken over whatever their heartbeat says.
        """
        self.stats["sweeps"] += 1
        counts: dict = {}
        size, most = atm_settings.get("ATM_SWEEP_BATCH"), atm_settings.get("ATM_SWEEP_MAX")
        try:
            # After a deploy: instances on renamed, obsolete or again declared nodes move on.
            # All of them at the worker's first sweep that gets this far (a failed first sweep's
            # retry counts as the first), the held ones at the others.
            settled = await database_sync_to_async(database.settle_versions)(not self._settled_once)
            self._settled_once = True
            if settled:
                logger.info("Made %s instance(s) due that the declarations now map.", settled)
            within = 2 * self.sweep_interval
            for automation_id, at in await database_sync_to_async(database.upcoming)(within):
                self.schedule(automation_id, at)
            counts["events"], tried, locked = 0, set[str](), list[str]()
            while True:
                apply_pending = database_sync_to_async(database.apply_pending_events)
                applied = await apply_pending(size, dead_workers, tried, locked)
                counts["events"] += sum(applied.values()) - applied[inbox.LOCKED]
                if not any(applied.values()) or counts["events"] >= most:
                    break
            if locked:  # their instances' rows are held: the lanes try them again soon
                for event in await database_sync_to_async(database.stored_events)(locked):
                    self._lanes.put(event)
            while True:
                batch = await database_sync_to_async(database.sweep_due)(size)
                for name, value in batch.items():
                    counts[name] = counts.get(name, 0) + value
                if batch["advanced"] < size or counts["advanced"] >= most:
                    break
            upcoming = await database_sync_to_async(database.after_sweep)(within)
        except Exception as exc:
            self._sweep_failed(exc)
            return counts
        self._sweep_backoff.succeeded()
        for automation_id, at in upcoming:
            self.schedule(automation_id, at)
        if counts.get("advanced") or counts.get("errors") or counts.get("events"):
            logger.info("Sweep: %s", counts)
        return counts

    def _sweep_failed(self, exc: BaseException) -> None:
        """Run the sweep again after a short delay, doubled after every failure in a row."""
        delay = self._sweep_backoff.failed()
        if self._sweep_backoff.failures == 1:
            logger.error("Sweep failed; trying again in %.1f s.", delay, exc_info=exc)
        else:
            logger.warning("Sweep failed again (%r); trying again in %.1f s.", exc, delay)
        if self._sweep_retry is None or self._sweep_retry.done():
            self._sweep_retry = self._spawn(self._sweep_later(delay))

    async def _sweep_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._sweep_retry = None  # this sweep may fail too, and ask for the next try
        await self.sweep()

    async def _sweep_periodically(self):
        while True:
            await asyncio.sleep(self.sweep_interval)
            await self.sweep()
