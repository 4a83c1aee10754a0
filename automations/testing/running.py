"""Running automations to rest: every due instance and stored event, until nothing can move."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from django.db.models import Count, Q
from django.utils import timezone

from automations import engine
from automations.events import inbox, wakeups
from automations.exceptions import AutomationsError
from automations.models import AutomationModel, AutomationTaskModel

if TYPE_CHECKING:  # only the type: the worker is the caller's, and its package loads Channels
    from automations.worker import Scheduler

__all__ = ["Moved", "NotIdleError", "run_until_idle", "scheduler_running"]


class NotIdleError(AutomationsError, AssertionError):
    """Automations kept moving after ``max_steps`` sweeps: one loops without waiting."""


@dataclass(frozen=True)
class Moved:
    """One instance that moved in a sweep: its id, class path and the nodes it waits at then."""

    automation_id: int
    automation_class: str
    at: tuple[str, ...]
    finished: bool = False
    error: str = ""


def run_until_idle(*, max_steps: int = 100) -> list[Moved]:
    """Advance every instance that can move now, until none can; return what moved, in order.

    Each step applies the stored events nobody applies (messages, creations) and runs the
    engine's own sweep (:func:`automations.engine.sweep`), which takes the due instances through
    the ``wake_at`` index, earliest first, and runs threaded nodes in place. The clock does not
    move. Raise :class:`NotIdleError`, listing the instances still due and where they are, if
    something can still move after ``max_steps`` steps.
    """
    moved: list[Moved] = []
    for _ in range(max_steps):
        due = _due_ids()
        if not due and not inbox.pending_ids(limit=1):
            return moved
        before = _signatures(due)
        with wakeups.event_scope():
            inbox.apply_pending()
            engine.sweep()
        moved += _moved(before)
    due = _due_ids()
    if due or inbox.pending_ids(limit=1):
        raise NotIdleError(_not_idle_account(due, max_steps))
    return moved


def _due_ids() -> list[int]:
    due = AutomationModel.objects.filter(wake_at__lte=timezone.now()).order_by("wake_at", "pk")
    return list(due.values_list("pk", flat=True))


def _signatures(ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    rows = AutomationModel.objects.filter(pk__in=ids).annotate(
        tasks=Count("automationtaskmodel"),
        open=Count("automationtaskmodel", filter=Q(automationtaskmodel__finished=None)),
    )
    return {row.pk: (row.tasks, row.open, row.finished, row.error, repr(row.data)) for row in rows}


def _moved(before: dict[int, tuple[Any, ...]]) -> list[Moved]:
    after = _signatures(before)
    moved = []
    for pk in before:
        if after.get(pk) == before[pk]:
            continue
        row = AutomationModel.objects.get(pk=pk)
        at = tuple(_open_nodes(pk))
        moved.append(Moved(pk, row.automation_class, at, row.finished, row.error))
    return moved


def _open_nodes(automation_id: int) -> list[str]:
    tasks = AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None).order_by("pk")
    return list(tasks.values_list("status", flat=True))


def _not_idle_account(due: list[int], max_steps: int) -> str:
    lines = [f"Automations were still moving after {max_steps} steps (one loops without waiting?):"]
    for row in AutomationModel.objects.filter(pk__in=due[:10]):
        nodes = ", ".join(repr(name) for name in _open_nodes(row.pk)) or "no open task"
        lines.append(f"  {row.automation_class} #{row.pk} is due again at {nodes}")
    if len(due) > 10:
        lines.append(f"  ... and {len(due) - 10} more")
    pending = inbox.pending_ids(limit=11)
    if pending:
        lines.append(f"  {len(pending)} stored event(s) still waiting to be applied")
    return "\n".join(lines)


class WorkerClock(Protocol):
    """What a scheduler worker takes of a clock: its time and its timers (a ``FrozenClock`` has both)."""

    def __call__(self) -> datetime: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Any: ...


@contextlib.asynccontextmanager
async def scheduler_running(
    worker: Scheduler, *, timeout: float = 10, clock: WorkerClock | None = None
) -> AsyncIterator[Scheduler]:
    """Run the scheduler ``worker`` while inside, from its first sweep on; stop it on the way out.

    With ``clock`` (a :class:`~automations.testing.FrozenClock` that is frozen), the worker reads
    the time from it and its timers fire when ``await clock.aadvance(...)`` moves the time past them.
    """
    if clock is not None:
        worker.now, worker.call_later = clock, clock.call_later
    task = asyncio.create_task(worker.arun())
    try:
        await asyncio.wait_for(worker.ready.wait(), timeout)
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout)
