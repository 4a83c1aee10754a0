"""Automation classes declared inside a test, forgotten after it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from automations import registry

__all__ = ["restored_registry"]


@contextlib.contextmanager
def restored_registry() -> Iterator[None]:
    """Leave the registry of automation classes on the way out as it was on the way in.

    Classes declared inside register themselves as usual; afterwards they are forgotten, and a
    class that a declaration inside replaced is registered again, in its place in the order.
    """
    saved = registry.all_automations()
    try:
        yield
    finally:
        for path in registry.all_automations():
            registry.unregister(path)
        for cls in saved.values():
            registry.register(cls)
