"""Helpers for testing automations: a frozen clock, running to rest, acting as people and services.

::

    from automations import testing

    with testing.frozen_clock() as clock:
        order = OrderFulfilment(order="A-1", email="kim@example.com", item="mug", total=42)
        testing.send(order, "delivered", data={"tracking": "TRK-A-1"})
        clock.advance(days=3)
        testing.assert_at(order, "end")
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ returns, for type checkers; at run time each loads on first use
    from .acting import publish as publish
    from .acting import send as send
    from .acting import submit as submit
    from .clock import FrozenClock as FrozenClock
    from .clock import frozen_clock as frozen_clock
    from .looking import assert_at as assert_at
    from .looking import open_tasks as open_tasks
    from .looking import path as path
    from .looking import paths as paths
    from .looking import where as where
    from .mixins import AutomationTestMixin as AutomationTestMixin
    from .registering import restored_registry as restored_registry
    from .running import Moved as Moved
    from .running import NotIdleError as NotIdleError
    from .running import run_until_idle as run_until_idle
    from .running import scheduler_running as scheduler_running

_HOMES = {
    "AutomationTestMixin": "mixins",
    "FrozenClock": "clock",
    "Moved": "running",
    "NotIdleError": "running",
    "assert_at": "looking",
    "frozen_clock": "clock",
    "open_tasks": "looking",
    "path": "looking",
    "paths": "looking",
    "publish": "acting",
    "restored_registry": "registering",
    "run_until_idle": "running",
    "scheduler_running": "running",
    "send": "acting",
    "submit": "acting",
    "where": "looking",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    # Imported on first use: pytest loads the plugin of this package before Django is set up.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
