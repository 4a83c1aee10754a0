"""The scheduler worker's intake: events from the channel, stored in the inbox, confirmed, applied.

Every event the worker receives is first written to the database inbox (:mod:`automations.events.inbox`),
on a database thread of its own so that a long node elsewhere does not hold it in memory, and
confirmed to a publisher that asked for a receipt; then it is applied once, through the sync
engine, in its instance's lane (:mod:`.lanes`) on one of the worker's ``ATM_APPLY_THREADS``
threads, and tried again soon (:mod:`.retrying`) while its instance's row is held or the database
fails. A wake-up due now is advanced in its instance's lane too (not stored); one due later goes
to the timers. Invalid events are logged (type and id, bounded) and dropped; a message the channel
layer cannot decode is skipped at once, and counted in a log line now and then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import connections
from redis.exceptions import RedisError

from automations import events
from automations import settings as atm_settings
from automations.events import inbox
from automations.logsafe import Throttle, shown
from automations.models import InboxEvent

from .lanes import Lanes
from .retrying import Backoff, Retries

logger = logging.getLogger("automations.scheduler")

# What a channel layer raises when it cannot reach its server (channels-redis: redis-py's errors,
# sockets), as opposed to the errors of a message it took from the channel but could not decode.
CONNECTION_ERRORS = (OSError, EOFError, RedisError)
RECEIPT_PATIENCE = 1.0  # seconds the receipts of one batch wait in all for full reply channels


class Intake:
    """What :class:`~automations.worker.Scheduler` does with events: listen, store, confirm, apply."""

    name: str  # the Scheduler's attributes, and a method of its Timing
    channel: str
    stats: dict[str, int]
    sweep_interval: float
    _skip_log: Throttle
    now: Callable[[], Any]
    _wake: Callable[[Any], Coroutine[Any, Any, bool]]
    _advance_now: Callable[..., Coroutine[Any, Any, bool]]
    _apply_executor: ThreadPoolExecutor | None
    _apply_threads: int
    _lanes: Lanes
    _event_retries: Retries

    async def _listen(self):
        """Take the events from the channel, into the queue of those to store.

        A message that the channel layer takes but cannot decode (bytes of another serializer or
        other encryption keys, or no message at all) raises in ``receive()``: channels-redis has
        removed it from the channel by then. It is skipped at once, counted and logged now and
        then (``ATM_UNDECODABLE_LOG_INTERVAL``). Only a connection error waits before trying again.
        """
        lost, skipped = False, 0  # skipped: messages in a row that could not be received
        while True:
            try:
                raw = await self.channel_layer.receive(self.channel)
            except CONNECTION_ERRORS as exc:
                if not lost:
                    logger.error("Could not receive from channel %r (%r); retrying every %g s.",
                                 self.channel, exc, atm_settings.get("ATM_RECONNECT_DELAY"))  # fmt: skip
                lost = True
                await asyncio.sleep(atm_settings.get("ATM_RECONNECT_DELAY"))
                continue
            except Exception as exc:
                lost = self._receiving_again(lost)
                skipped += 1
                self._skipped(exc)
                # The next message may well be readable: no wait. Yet an error that recurs without
                # taking a message would keep the listener spinning; a short pause every
                # ATM_UNDECODABLE_PAUSE_EVERY failures in a row bounds that, and costs a flood of bad
                # messages little. sleep(0) lets the event loop's other tasks run in between.
                pause = skipped % atm_settings.get("ATM_UNDECODABLE_PAUSE_EVERY") == 0
                await asyncio.sleep(atm_settings.get("ATM_UNDECODABLE_PAUSE") if pause else 0)
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
        while len(batch) < atm_settings.get("ATM_INTAKE_BATCH") and not self._received.empty():
            batch.append(self._received.get_nowait())
        self.stats["events"] += len(batch)
        intakes = await self._store(batch)
        for intake in intakes:  # stored: the engine's thread may apply them while the receipts go out
            if intake.event is None:
                self.stats["invalid"] += 1
            else:
                self._ready.put_nowait(intake.event)
        await send_receipts(self.channel_layer or get_channel_layer(), intakes)

    async def _store(self, batch):
        """Store ``batch`` in the inbox; while the database fails, keep it and try again soon."""
        backoff = Backoff()
        while True:
            try:
                return await self._side(inbox.accept)(batch, worker=self.name)
            except Exception as exc:
                delay = backoff.failed()
                logger.error("Could not store %d received event(s) (%r); trying again in %.1f s.",
                             len(batch), exc, delay)  # fmt: skip
                await asyncio.sleep(delay)

    async def _reply(self, intake):
        await send_receipt(self.channel_layer or get_channel_layer(), intake)

    async def _apply_ready(self):
        while True:
            event = await self._ready.get()
            if event.type == events.WAKE and (event.at is None or event.at <= self.now()):
                self._lanes.put(event)  # its step runs beside others, not before the next event is taken
            elif event.type in events.WAKE_TYPES:
                await self._handle(event)
            else:
                self._lanes.put(event)

    def _applying(self, func):
        """Run sync ``func`` on one of the worker's ``ATM_APPLY_THREADS`` threads for events.

        On SQLite, whose one writer would make the threads wait for each other, on the engine's
        thread instead.
        """
        if connections["default"].vendor == "sqlite":
            return database_sync_to_async(func)
        if self._apply_executor is None:
            self._apply_threads = atm_settings.get("ATM_APPLY_THREADS")
            self._apply_executor = ThreadPoolExecutor(self._apply_threads, "automations-apply")
        return database_sync_to_async(func, thread_sensitive=False, executor=self._apply_executor)

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
        """Apply a validated event (stored in the inbox unless it is a wake-up) now; never raises.

        On the engine's thread, as the caller's sync code (``dispatch()`` from a test, a consumer)
        expects. An event that must be tried again (see :meth:`_apply_once`) is, after a delay,
        until it is done with.
        """
        if event.type == events.WAKE:
            return await self._wake([(event.automation, event.at)])
        if event.type == events.WAKES:
            return await self._wake(event.data)
        backoff = Backoff()
        while (applied := await self._apply_once(event, database_sync_to_async)) is None:
            await asyncio.sleep(backoff.failed())
        return applied

    async def _apply_once(self, event, run=None) -> bool | None:
        """Apply a stored event once; return whether it was applied, or ``None`` to try it again soon.

        ``run(func)`` makes the sync ``func`` awaitable where it should run (default: on one of the
        worker's threads for events, :meth:`_applying`).

        Tried again: an event whose instance's row another transaction holds (:data:`inbox.LOCKED`),
        as long as it is held, and one whose handling failed on a database error, for one sweep
        interval (then it is left to the sweeps). Never raises.
        """
        if event.type == events.WAKE:
            return await self._advance_now(event.automation, event.at, run or self._applying)
        try:
            outcome = await (run or self._applying)(inbox.apply)(event.id, event)
        except Exception as exc:
            if self._event_retries.failed(event.id) is not None:
                log = logger.warning if self._event_retries.failures(event.id) == 1 else logger.debug
                log("Event (%s) not handled (%r); trying again soon.", inbox.describe(event.raw), exc)
                return None
            self.stats["failed"] += 1
            logger.exception("Event (%s) not handled; a sweep retries it.", inbox.describe(event.raw))
            return False
        if outcome == inbox.LOCKED:
            return None
        self._event_retries.succeeded(event.id)
        if outcome == InboxEvent.REJECTED:
            self.stats["invalid"] += 1
        elif outcome == InboxEvent.FAILED:
            self.stats["failed"] += 1
        return outcome not in (InboxEvent.REJECTED, InboxEvent.FAILED)


async def send_receipt(channel_layer, intake) -> None:
    """Log a refused event; send the receipt to the event's ``reply_channel`` if it has one."""
    await send_receipts(channel_layer, [intake])


async def send_receipts(channel_layer, intakes) -> None:
    """Log the refused events; send each receipt asked for, waiting briefly for a full reply channel.

    channels-redis keeps all the reply channels of a publishing process in one list, limited by the
    layer's capacity: a burst of receipts to a process that receives them slower than they come
    fills it, and ``send()`` raises ``ChannelFull``. A refused receipt is sent again after a short
    pause, the pauses of one call ``RECEIPT_PATIENCE`` seconds in all (a dead publisher's full
    list holds the worker up that long at most); one refused after that is dropped and logged. The
    publisher sends its event again and gets the receipt then.
    """
    give_up = time.monotonic() + RECEIPT_PATIENCE
    for intake in intakes:
        if intake.error is not None:
            logger.warning("Invalid event dropped (%s): %s", inbox.describe(intake.raw), intake.error)
        if intake.reply_channel is not None:
            await _send_patiently(channel_layer, intake, give_up)


async def _send_patiently(channel_layer, intake, give_up) -> None:
    pause = 0.01
    while True:
        try:
            await channel_layer.send(intake.reply_channel, intake.receipt())
            return
        except ChannelFull as exc:
            if time.monotonic() + pause > give_up:
                logger.warning("Receipt for event (%s) not sent (%r): its reply channel stayed full.",
                               inbox.describe(intake.raw), exc)  # fmt: skip
                return
        except Exception as exc:  # the publisher sends the event again and gets the receipt then
            logger.warning("Receipt for event (%s) not sent (%r).", inbox.describe(intake.raw), exc)
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)


async def take_waiting_events(
    *, channel: str | None = None, limit: int = 10_000, wait: float = 0.05, channel_layer=None
) -> int:
    """Take the events waiting in the channel, store them in the inbox and answer their receipts.

    What ``automation_step`` does where no worker listens. Waits ``wait`` seconds for each next
    event; stops when none comes, after ``limit`` events, or if the channel layer fails. Wake-ups
    are dropped: the database already says what is due. ``channel_layer`` defaults to the site's
    (as for :class:`~automations.worker.Scheduler`); without one nothing is taken. Return how many
    events were taken.
    """
    layer = channel_layer or get_channel_layer()
    if layer is None:  # no CHANNEL_LAYERS: no channel to take from
        return 0
    channel = channel or events.channel_name()
    received, skipped, problem = list[object](), 0, None
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
        await send_receipts(layer, await database_sync_to_async(inbox.accept)(received))
    return len(received)
