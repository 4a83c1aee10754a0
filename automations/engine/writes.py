"""The task rows a step writes, kept until the engine knows something may read them.

A step creates one task row per node visit and finishes it when the path moves on. Rows are not
written one by one: they wait here until :meth:`TaskWrites.flush`, which writes the new rows with one
``bulk_create()`` and the changed ones with one more statement. The step flushes where it needs
the rows — before a split names its task in its paths, before ``task_failed`` is sent (its
receivers see the failed visit and the ones before it), before it looks at a node's earlier
visits — and when it ends. Node code runs in a savepoint of its own that holds its own writes
only; it sees the task rows of earlier steps, not yet those of its own step. A row created and
finished between two flushes is inserted finished: one statement, not two. The steps of a batch
(:mod:`.batches`) hold their rows until the batch ends, and a flush of one writes them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from automations.models import AutomationTaskModel

CHANGED_FIELDS = ["finished", "message", "result", "finished_by", "deadline"]  # what a step changes on a task
_FIELDS = AutomationTaskModel._meta.concrete_fields
_COLUMNS = tuple(field.attname for field in _FIELDS)
_DEFAULTS = {field.attname: field.get_default() for field in _FIELDS}
_GIVEN = {"automation_id", "status", "created", "path"}  # the values new_task_row() is given
_FRESH = tuple(field for field in _FIELDS if callable(field.default) and field.attname not in _GIVEN)


def new_task_row(automation: Any, status: str, created: Any, path: str) -> AutomationTaskModel:
    """Return an unsaved task row of ``automation`` (its ``AutomationModel``) for the node ``status``.

    The same as ``AutomationTaskModel(automation=..., status=..., created=..., path=...)``, built
    from the field values in order (as ``Model.from_db()`` does), which takes half the time.
    """
    values = dict(_DEFAULTS, automation_id=automation.pk, status=status, created=created, path=path)
    for field in _FRESH:  # a new list (or whatever a callable default makes) for each row
        values[field.attname] = field.get_default()
    row: list[Any] = [values[name] for name in _COLUMNS]
    task = AutomationTaskModel(*row)  # type: ignore[misc]  # the stubs know keyword arguments only
    task.automation = automation
    return task
FEW = 3  # changed rows written one UPDATE each; more go in one statement


class TaskWrites:
    """New and changed task rows of one step, not yet written.

    ``held_by``: the batch whose steps' rows go out together (:class:`~.batches.Batch`); a flush of
    any of its steps writes them all.
    """

    __slots__ = ("new", "new_ids", "changed", "opened", "closed", "held_by")

    def __init__(self, held_by: Any = None) -> None:
        self.new: list[AutomationTaskModel] = []
        self.new_ids: set[int] = set()  # id() of the rows in new: a fan-out stores thousands
        self.changed: dict[int, AutomationTaskModel] = {}  # by id(task): a task is changed once
        self.opened: list[AutomationTaskModel] = []  # written open, for the after-commit hooks
        self.closed: list[AutomationTaskModel] = []  # finished in this step
        self.held_by = held_by

    def __bool__(self) -> bool:
        return bool(self.new or self.changed)

    def store(self, task: AutomationTaskModel) -> None:
        """Write ``task`` at the next flush: insert it if it has no row yet, else update it."""
        if task.pk is None:
            if id(task) not in self.new_ids:
                self.new.append(task)
                self.new_ids.add(id(task))
        else:
            self.changed[id(task)] = task

    def finished(self, task: AutomationTaskModel) -> None:
        """Note that ``task`` was finished in this step (for the after-commit hooks)."""
        self.closed.append(task)

    def flush(self) -> None:
        """Write the rows held so far (of the whole batch, if the step is part of one)."""
        if self.held_by is not None:
            self.held_by.flush()
        else:
            write_tasks([self])


def write_tasks(pending: Iterable[TaskWrites]) -> None:
    """Write the rows that ``pending`` hold: the changed ones, then the new ones (one ``INSERT``)."""
    new: list[AutomationTaskModel] = []
    changed: list[AutomationTaskModel] = []
    inserted: list[tuple[TaskWrites, list[AutomationTaskModel]]] = []
    for writes in pending:
        if writes.new:
            inserted.append((writes, writes.new))
            new += writes.new
            writes.new = []
            writes.new_ids = set()
        if writes.changed:
            changed += writes.changed.values()
            writes.changed = {}
    if len(changed) > FEW:
        # One INSERT ... ON CONFLICT (id) DO UPDATE of the changed columns: every row exists, so
        # each is updated. Django compiles it as one insert, where bulk_update() builds a CASE
        # per row and column (several times slower for a batch's rows).
        AutomationTaskModel.objects.bulk_create(
            changed, update_conflicts=True, unique_fields=["id"], update_fields=CHANGED_FIELDS
        )
    else:  # one UPDATE each
        for task in changed:
            AutomationTaskModel.objects.filter(pk=task.pk).update(
                finished=task.finished, message=task.message, result=task.result,
                finished_by_id=task.finished_by_id, deadline=task.deadline,
            )  # fmt: skip
    if not new:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        AutomationTaskModel.objects.bulk_create(new)
    else:  # the new rows' ids are needed (paths name their split's task): one INSERT each
        for task in new:
            task.save(force_insert=True)
    for writes, rows in inserted:
        writes.opened += [task for task in rows if task.finished is None]
