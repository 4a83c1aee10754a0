"""Helpers for testing automations: a frozen clock, running to rest, acting as people and services.

::

    from automations import testing

    with testing.frozen_clock() as clock:
        order = OrderFulfilment(order="A-1", email="kim@example.com", item="mug", total=42)
        testing.send(order, "delivered", data={"tracking": "TRK-A-1"})
        clock.advance(days=3)
        testing.assert_at(order, "end")
"""

from .acting import publish, send, submit
from .clock import FrozenClock, frozen_clock
from .looking import assert_at, open_tasks, path, paths, where
from .running import Moved, NotIdleError, run_until_idle

__all__ = [
    "FrozenClock",
    "Moved",
    "NotIdleError",
    "assert_at",
    "frozen_clock",
    "open_tasks",
    "path",
    "paths",
    "publish",
    "run_until_idle",
    "send",
    "submit",
    "where",
]
