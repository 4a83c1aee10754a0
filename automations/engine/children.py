"""A child instance (started by a ``SubAutomation`` node) that stops makes its waiting parent due.

The parent waits without a time (it holds no thread and no timer); the child's last step marks
the parent due in the same transaction that stops the child, so that a process killed right after
the commit loses nothing: the next sweep steps the parent. A scheduler worker is told at once.
A child deleted before it stopped makes its parent due the same way, in the deleting transaction
(:func:`automations.subautomations.connect_receivers`).
"""

from __future__ import annotations

from datetime import datetime

from automations.events import wakeups
from automations.models import AutomationModel, Status
from automations.stepping import touching


def mark_parent_due(model: AutomationModel, status: str, now: datetime) -> int | None:
    """If the instance of ``model`` stopped (``status``) and has a parent, make the parent due.

    Return the parent's id, or ``None`` if nothing was done.
    """
    parent_id = model.parent_id
    if parent_id is None or status not in Status.stopped():
        return None
    make_parent_due(parent_id, now)
    return parent_id


def make_parent_due(parent_id: int, now: datetime) -> None:
    """Make the running instance ``parent_id`` due ``now``; a scheduler worker is told after the commit."""
    touching(parent_id)  # a batch holding the parent's row writes it first
    wakeups.mark_due(parent_id)
    wakeups.wake_at(parent_id, now)
