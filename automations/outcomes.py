"""What a node visit decides; the engine carries it out.

Nodes (:mod:`automations.flow`) return one of these from ``Node.visit``; the engine
(:mod:`automations.engine`) writes the task rows and moves the paths. Neither side knows how the
other is implemented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

UNCHANGED = object()


@dataclass
class Proceed:
    """Leave the node: finish its task with ``message``/``result``, continue at ``targets``.

    A target of ``None`` means the node's successor (its ``.Next()`` or the next declared node).
    ``split=True`` starts a parallel path for each target.
    """

    targets: tuple[str | None, ...] = (None,)
    message: str = "OK"
    result: Any = None
    split: bool = False


@dataclass
class Wait:
    """Stay at the node: keep its task open until ``until`` (``None``: until woken by an event).

    ``handoff=True`` asks for the node to be run by the scheduler worker instead of here.
    ``result`` replaces the open task's result (e.g. a computed schedule) unless ``UNCHANGED``.
    """

    until: datetime | None = None
    handoff: bool = False
    result: Any = field(default=UNCHANGED)


@dataclass
class Finish:
    """End the automation instance (an ``End`` node)."""

    message: str = "OK"


@dataclass
class JoinArrival:
    """A path arrived at a ``Join``: continue once every sibling path has arrived."""
