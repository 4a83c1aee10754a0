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
    "run_until_idle": "running",
    "scheduler_running": "running",
    "send": "acting",
    "submit": "acting",
    "where": "looking",
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    # Imported on first use: pytest loads the plugin of this package before Django is set up.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
