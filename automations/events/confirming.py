"""Confirmed publishing: a cap on publishes in flight, one reader of receipts, re-sends that back off.

A confirmed publish sends its event with a ``reply_channel`` and sends it again, with the same id,
until a worker's receipt comes. Three things keep a burst of them from collapsing:

- **A cap.** At most ``ATM_PUBLISH_IN_FLIGHT`` confirmed publishes of a process wait for receipts at
  once; the others wait for a slot before they send, within their ``timeout``.
- **One reply channel, one reader.** channels-redis keeps every process-local channel of a process
  (``new_channel()``, names with ``!``) in one Redis list, limited by the layer's capacity, and
  drops what a receive left behind when it was cancelled. So the publishes of a process share one
  reply channel, and one task receives from it and hands each receipt to the publish waiting for
  it; a late copy of a receipt is dropped there.
- **Re-sends that back off.** The first wait for a receipt is the longer of
  ``ATM_CONFIRM_FIRST_WAIT`` and what receipts took lately (their smoothed time plus four times its
  deviation, as TCP times its retransmissions), so that a busy worker is not sent each event
  twice; it doubles after every try up to ``ATM_CONFIRM_LONGEST_WAIT``, a quarter more or less at
  random, so that the re-sends of a burst do not come back together.

Confirmed publishes run on the process's publishing loop (:mod:`automations.publisher`), from
sync and async code alike, so that the cap and the reply channel are the process's; with the
in-memory layer they run on the caller's loop, where that layer lives.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from dataclasses import dataclass, field

import channels.layers

from automations import publisher
from automations import settings as atm_settings
from automations.events.schema import RECEIPT, InvalidEventError
from automations.exceptions import AutomationsError
from automations.logsafe import shown

logger = logging.getLogger("automations.events")

REPLY_PREFIX = "automations.receipt"  # new_channel() adds a dot: "automations.receipt.<process>!<random>"


class EventNotConfirmedError(AutomationsError, TimeoutError):
    """No worker confirmed an event within the time a confirmed :func:`publish` allowed."""


class Receipts:
    """The reply channel of one channel layer on one event loop, and the publishes waiting on it."""

    def __init__(self):
        self.channel: str | None = None
        self.waiting: dict[str, set[asyncio.Future]] = {}
        self.reader: asyncio.Task | None = None

    async def reply_channel(self, layer) -> str:
        """Return the reply channel (made on first use)."""
        if self.channel is None:
            self.channel = await layer.new_channel(REPLY_PREFIX)
        return self.channel

    def expect(self, layer, event_id: str) -> asyncio.Future:
        """Return a future that the receipt for ``event_id`` completes; read receipts meanwhile."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(event_id, set()).add(future)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._read(layer))
        return future

    def forget(self, event_id: str, future: asyncio.Future) -> None:
        """Stop waiting with ``future``; stop reading once nobody waits."""
        futures = self.waiting.get(event_id, set())
        futures.discard(future)
        if not futures:
            self.waiting.pop(event_id, None)
        if not self.waiting and self.reader is not None:
            # A receive cancelled by channels-redis leaves its message in Redis for the next one.
            self.reader.cancel()
            self.reader = None

    async def _read(self, layer):
        while True:
            try:
                answer = await layer.receive(self.channel)
            except Exception as exc:  # Redis restarting: the publishes send again meanwhile
                logger.debug("Could not receive receipts (%r).", exc)
                await asyncio.sleep(0.2)
                continue
            if isinstance(answer, dict) and answer.get("type") == RECEIPT:
                for future in self.waiting.get(answer.get("id"), ()):
                    if not future.done():
                        future.set_result(answer)


class Pace:
    """How long receipts take lately: a smoothed time and its mean deviation."""

    def __init__(self):
        self.smoothed: float | None = None
        self.deviation = 0.0

    def observe(self, seconds: float) -> None:
        """Take in the time from an event's first send to its receipt."""
        if self.smoothed is None:
            self.smoothed, self.deviation = seconds, seconds / 2
        else:
            self.deviation += (abs(seconds - self.smoothed) - self.deviation) / 4
            self.smoothed += (seconds - self.smoothed) / 8

    def first_wait(self) -> float:
        """Return how long to wait for a receipt before sending the event again."""
        wait = atm_settings.get("ATM_CONFIRM_FIRST_WAIT")
        if self.smoothed is not None:
            wait = max(wait, self.smoothed + 4 * self.deviation)
        return min(wait, atm_settings.get("ATM_CONFIRM_LONGEST_WAIT"))


@dataclass
class LoopState:
    """The confirmed publishing of one event loop: its slots, reply channels and pace."""

    size: int = 0
    slots: asyncio.Semaphore | None = None
    receipts: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)
    pace: Pace = field(default_factory=Pace)

    def slots_for(self, size: int) -> asyncio.Semaphore:
        """Return the semaphore of ``size`` slots (a new one when the setting changed)."""
        if self.slots is None or size != self.size:
            self.size, self.slots = size, asyncio.Semaphore(size)
        return self.slots


_states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopState] = weakref.WeakKeyDictionary()


def loop_state() -> LoopState:
    """Return the running loop's :class:`LoopState`."""
    loop = asyncio.get_running_loop()
    state = _states.get(loop)
    if state is None:
        state = _states[loop] = LoopState()
    return state


def runs_here() -> bool:
    """Return whether confirmed publishes run on the running loop (else on the publishing loop)."""
    return publisher.on_publishing_loop() or isinstance(
        channels.layers.get_channel_layer(), channels.layers.InMemoryChannelLayer
    )


async def send_confirmed(event: dict, timeout: float | None = None) -> None:
    """Send ``event`` (validated, with an id) until a worker confirms it; see :func:`publish`."""
    if timeout is None:
        timeout = atm_settings.get("ATM_CONFIRM_TIMEOUT")
    if not runs_here():
        await asyncio.wrap_future(publisher.schedule(send_confirmed, event, timeout))
        return
    deadline = time.monotonic() + timeout
    state = loop_state()
    slots = state.slots_for(atm_settings.get("ATM_PUBLISH_IN_FLIGHT"))
    try:
        await asyncio.wait_for(slots.acquire(), max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        raise _not_confirmed(event, timeout, f"{state.size} confirmed publishes of this process were in "
                             "flight all along (ATM_PUBLISH_IN_FLIGHT)") from None  # fmt: skip
    try:
        layer = publisher.current_layer()
        receipts = state.receipts.setdefault(layer, Receipts())
        event = {**event, "reply_channel": await receipts.reply_channel(layer)}
        future = receipts.expect(layer, event["id"])
        try:
            answer = await _until_confirmed(layer, event, future, state.pace, deadline, timeout)
        finally:
            receipts.forget(event["id"], future)
    finally:
        slots.release()
    if answer.get("accepted") is not True:
        raise InvalidEventError(f"The worker rejected the event: {answer.get('error')}")


async def _until_confirmed(layer, event, future, pace, deadline, timeout) -> dict:
    channel = atm_settings.get("ATM_CHANNEL_NAME")
    longest = atm_settings.get("ATM_CONFIRM_LONGEST_WAIT")
    wait, pause, problem = pace.first_wait(), 0.2, "no worker answered"
    first_sent = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _not_confirmed(event, timeout, problem)
        try:
            await layer.send(channel, event)
        except Exception as exc:  # a full channel, Redis restarting: the same event again, later
            problem = f"the channel layer failed ({type(exc).__name__}: {shown(str(exc))})"
            await asyncio.sleep(min(_jittered(pause), max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, longest)
            continue
        first_sent = first_sent or time.monotonic()
        try:
            answer = await asyncio.wait_for(asyncio.shield(future), min(_jittered(wait), remaining))
        except TimeoutError:
            problem = "no worker answered"
            wait = min(wait * 2, longest)
            continue
        pace.observe(time.monotonic() - first_sent)
        return answer


def _jittered(seconds: float) -> float:
    return seconds * random.uniform(0.75, 1.25)


def _not_confirmed(event, timeout, problem) -> EventNotConfirmedError:
    return EventNotConfirmedError(
        f"Event {shown(event.get('id'))} ({event['type']}) was not confirmed within {timeout:g} s: "
        f"{problem}. Is a scheduler worker running on channel {atm_settings.get('ATM_CHANNEL_NAME')!r}?"
    )
