"""The scheduler worker's lanes: stored events applied one instance at a time, instances side by side.

Each effectful event goes into the lane of what it addresses: a message, or a wake-up due now,
into its instance's lane (by the id or key the event names), a broadcast into its class's lane, a
start or a create into a lane of its own. A lane applies its events in the order they came, one
at a time; different lanes run at once, on the worker's ``ATM_APPLY_THREADS`` threads. An event
that cannot be applied yet (its instance's row is held, the database failed) is tried again after
a delay (:mod:`.retrying`) and holds up its own lane only: a node that runs for a minute, or a
worker frozen in the middle of a step, delays the events of its own instance and of no other.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from automations import events

from .retrying import Backoff

#: What applying an event once says: it is done with (True or False: applied or not), or None:
#: try it again after the lane's delay.
Apply = Callable[[events.Event], Awaitable[bool | None]]


def lane_of(event: events.Event) -> Hashable:
    """Return the key of the lane ``event`` goes into."""
    if event.type in (events.MESSAGE, events.WAKE):
        return ("instance", event.automation)
    if event.type == events.BROADCAST:
        return ("class", event.automation_class)
    return ("event", event.id)  # a start or a create: a new instance, nobody else's turn to wait for


class Lanes:
    """Events in lanes: ``put()`` an event; ``apply(event)`` is awaited for each, in its lane's order.

    ``spawn(coroutine)`` runs a lane as a task (the worker's supervised spawn). ``apply`` returns
    ``None`` to have the event tried again after a delay, doubled after every failure in a row.
    """

    def __init__(self, apply: Apply, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task]) -> None:
        self._apply, self._spawn = apply, spawn
        self._lanes: dict[Hashable, deque[events.Event]] = {}

    def __len__(self) -> int:
        """Return the events waiting in the lanes, the ones being applied included."""
        return sum(len(lane) for lane in self._lanes.values())

    def put(self, event: events.Event) -> None:
        """Queue ``event`` in its lane; start the lane if it was idle."""
        key = lane_of(event)
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(event)
            return
        self._lanes[key] = deque([event])
        self._spawn(self._run(key))

    async def _run(self, key: Hashable) -> None:
        lane, backoff = self._lanes[key], Backoff()
        try:
            while lane:
                if await self._apply(lane[0]) is None:
                    await asyncio.sleep(backoff.failed())
                    continue
                lane.popleft()
                backoff.succeeded()
        finally:
            # Stopped or done: a later event starts the lane anew. Events left in it are stored
            # in the inbox; the other workers' sweeps apply them.
            if self._lanes.get(key) is lane:
                del self._lanes[key]
