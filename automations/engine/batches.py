"""Due instances advanced together: several steps in one transaction, their rows read and written at once.

The scheduler worker advances the instances whose timers fire at the same moment with
:func:`advance_due`. A :class:`Batch` locks their rows with one query and loads their open tasks
with one more; each step then starts from those rows and hands its writes to the batch, which sends
them when the batch ends: the new task rows in one ``INSERT``, the changed ones in one more, the
instance rows in one. A batch of 200 wake-ups costs a handful of statements besides its nodes' own
savepoints, and one commit.

What node code sees: the rows as they were when the batch began, its own instance's earlier steps,
and what it writes itself. The rows of the batch's other steps are written when the batch ends
(they commit together). Whoever reads or writes another instance's rows through the engine — a
message (``send_message``, ``SendMessage``), ``save()``, a cancel or a retry — makes the batch
write what it holds first and load that instance afresh when its turn comes
(:func:`automations.stepping.touching`), so that nothing is overwritten by an older row.

A node that raises is recorded as every failing node is (its savepoint rolled back). Anything else
that raises in a step makes the batch roll back as a whole and the instances advance one by one,
each in its own transaction: the failing one is logged and left to the sweep.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from automations import lifecycle
from automations.events import wakeups
from automations.exceptions import AutomationsError
from automations.models import AutomationModel, AutomationTaskModel, Status
from automations.stepping import batching, stepping

from .locking import lock_rows
from .steps import advance, step_locked
from .walk import StepResult
from .writes import TaskWrites, write_tasks

logger = logging.getLogger("automations.engine")


class Batch:
    """The locked rows and open tasks of due instances, and the writes their steps hold back."""

    def __init__(self, automation_ids: list[int], now: datetime) -> None:
        self.now = now  # the time of the step running: rows due by now are loaded with their tasks
        rows = lock_rows(AutomationModel.objects.filter(pk__in=automation_ids), skip_locked=True)
        self.rows = {row.pk: row for row in rows}
        due = [pk for pk, row in self.rows.items() if _is_due(row, now)]
        self.loaded = {pk: _values(self.rows[pk]) for pk in due}  # to see writes from outside the steps
        self.open_tasks: dict[int, list[AutomationTaskModel]] = defaultdict(list)
        if due:
            open_tasks = AutomationTaskModel.objects.filter(automation_id__in=due, finished=None)
            for task in open_tasks.order_by("pk"):
                self.open_tasks[task.automation_id].append(task)
        self.stale: set[int] = set()  # touched outside their steps: they load their rows again
        self.task_writes: list[TaskWrites] = []
        self.held: list[tuple[AutomationModel, tuple]] = []  # instance rows whose steps ended, to write
        self.spoilt = ""  # why the batch must roll back: a row changed outside the engine

    def advance(self, automation_id: int, *, run_threaded: bool) -> StepResult:
        """Run the step of ``automation_id`` from the rows loaded for it (skipped if not locked)."""
        row = self.rows.get(automation_id)
        if row is None:  # another worker holds it, or it is gone
            return StepResult(automation_id, skipped=True)
        if automation_id in self.stale:
            return advance(automation_id, skip_locked=True, due_only=True, run_threaded=run_threaded)
        with stepping(automation_id) as scope:
            return step_locked(automation_id, row, scope, due_only=True, run_threaded=run_threaded,
                               open_tasks=self.open_tasks.pop(automation_id, []), batch=self)  # fmt: skip

    def writes(self) -> TaskWrites:
        """Return a step's task writes, held until the batch writes them."""
        writes = TaskWrites(held_by=self)
        self.task_writes.append(writes)
        return writes

    def hold(self, row: AutomationModel) -> None:
        """Write the instance ``row`` as its step left it (the step has ended) with the others."""
        # The row object is shared with other objects of the instance: what the batch writes is
        # what the step left, noted now.
        self.held.append((row, tuple(getattr(row, name) for name in lifecycle.STEP_FIELDS)))

    def touched(self, automation_id: int) -> None:
        """Another step or a node's code reads or writes ``automation_id``'s rows: write what is held."""
        if automation_id in self.rows:
            self.flush()
            self.stale.add(automation_id)

    def flush(self) -> None:
        """Write every row held so far: task rows, then instance rows.

        If a held instance's row was changed meanwhile by a write that did not go through the
        engine (a node's code updating it with the ORM), its step started from an older row:
        nothing more is written and the batch is :attr:`spoilt` (it rolls back and its instances
        go one by one).
        """
        if self.spoilt:
            return
        write_tasks(self.task_writes)
        if self.held:
            held, self.held = self.held, []
            self.spoilt = self.changed_outside([row.pk for row, _ in held])
            if self.spoilt:
                return
            for row, values in held:
                for name, value in zip(lifecycle.STEP_FIELDS, values, strict=True):
                    setattr(row, name, value)
            lifecycle.record_steps([row for row, _ in held])
            for row, _ in held:
                self.loaded[row.pk] = _values(row)

    def changed_outside(self, automation_ids: list[int]) -> str:
        """Return which of the rows ``automation_ids`` differ from what the batch loaded or wrote."""
        stored = AutomationModel.objects.filter(pk__in=automation_ids).values_list(*CHECKED)
        changed = [pk for pk, *values in stored if _encoded(values) != self.loaded.get(pk)]
        return f"Instances {changed} were changed during their steps in a batch." if changed else ""

    def check(self) -> None:
        """Raise :class:`RowChanged` if the batch is spoilt."""
        if self.spoilt:
            raise RowChanged(self.spoilt)


CHECKED = ("pk", "data", "status", "wake_at", "finished", "error")


class RowChanged(AutomationsError):
    """An instance's row changed outside the engine during a batch: the batch goes one by one."""


def _values(row: AutomationModel) -> tuple:
    return _encoded([getattr(row, name) for name in CHECKED[1:]])


def _encoded(values: list) -> tuple:
    data, *rest = values
    return (json.dumps(data, sort_keys=True), *rest)


def _is_due(row: AutomationModel, now: datetime) -> bool:
    return row.wake_at is not None and row.wake_at <= now and row.status in Status.active()


class _StepRaised(AutomationsError):
    """A step raised for another reason than its node's code: the batch is rolled back."""


RETRIED_ALONE = (_StepRaised, RowChanged)  # the batch rolls back and its instances go one by one


def advance_due(
    automation_ids: Iterable[int], *, seconds: float | None = None, due_at: dict[int, datetime] | None = None
) -> tuple[dict[int, StepResult], list[int]]:
    """Advance the due instances ``automation_ids`` in one transaction, in the order given.

    Instances another worker holds, or that are not due, are skipped. The steps stop once they
    took ``seconds`` (if given), so that others waiting for the database get their turn. A step
    that raises makes the batch roll back and its instances advance one by one (the failing one is
    logged and left to the sweep); a database failure that spoils the transaction raises (nothing
    of the batch is committed). Return ``({id: StepResult}, ids not reached)``.

    ``due_at`` maps ids to their wake times, which may be a moment ahead: the rows are locked and
    loaded at once, and each step waits for its wake time, so that the reading is done when the
    first one is due. Each step's time is the time it starts.
    """
    automation_ids = list(automation_ids)
    run_threaded = wakeups.runs_threaded_here()
    began = time.monotonic()
    try:
        with transaction.atomic():
            results, left = _advance_together(automation_ids, seconds, began, run_threaded, due_at or {})
    except RETRIED_ALONE:
        return _advance_one_by_one(automation_ids, seconds, began, run_threaded)
    return results, left


def _advance_together(
    automation_ids: list[int], seconds: float | None, began: float, run_threaded: bool,
    due_at: dict[int, datetime],
) -> tuple[dict[int, StepResult], list[int]]:  # fmt: skip
    results: dict[int, StepResult] = {}
    batch = Batch(automation_ids, max([timezone.now(), *due_at.values()]))
    left: list[int] = []
    with batching(batch):
        for position, automation_id in enumerate(automation_ids):
            if seconds is not None and position and time.monotonic() - began > seconds:
                left = automation_ids[position:]
                break
            waited_from = time.monotonic()
            batch.now = _wait_until(due_at.get(automation_id))
            began += time.monotonic() - waited_from  # ``seconds`` counts the steps' time, not the waits
            try:
                results[automation_id] = batch.advance(automation_id, run_threaded=run_threaded)
                batch.check()
            except RowChanged:
                raise
            except Exception as exc:
                if transaction.get_rollback() or not connection.is_usable():
                    raise  # the transaction is spoilt: the caller advances them one by one
                logger.exception("Instance %s could not be advanced in a batch.", automation_id)
                raise _StepRaised from exc
        batch.flush()
        batch.check()
    return results, left


def _wait_until(moment: datetime | None) -> datetime:
    """Sleep until ``moment`` if it is ahead (a batch read ahead of its wake times); return the time."""
    now = timezone.now()
    if moment is not None and moment > now:
        time.sleep((moment - now).total_seconds())
        return max(moment, timezone.now())
    return now


def _advance_one_by_one(
    automation_ids: list[int], seconds: float | None, began: float, run_threaded: bool
) -> tuple[dict[int, StepResult], list[int]]:
    results: dict[int, StepResult] = {}
    for position, automation_id in enumerate(automation_ids):
        if seconds is not None and position and time.monotonic() - began > seconds:
            return results, automation_ids[position:]
        try:
            results[automation_id] = advance(
                automation_id, skip_locked=True, due_only=True, run_threaded=run_threaded
            )
        except Exception:
            logger.exception("Instance %s could not be advanced; the sweep retries.", automation_id)
    return results, []
