"""Due instances advanced together: their rows locked and their open tasks loaded in two queries.

A batch of due instances runs in one transaction, a step per instance (see
``consumers.scheduler``). :class:`Preloaded` locks the batch's rows and loads their open tasks
up front, so that each step starts without a query of its own. Whatever else writes instance or
task rows while the batch runs (a node's code, a signal receiver, a nested step) may change rows
loaded for a later step: the first such statement makes the remaining steps load their own.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection

from automations.models import AutomationModel, AutomationTaskModel

from .locking import lock_instances

TABLES = (AutomationModel._meta.db_table.lower(), AutomationTaskModel._meta.db_table.lower())
READS = ("SELECT", "SAVEPOINT", "RELEASE")


class Preloaded:
    """The locked rows and open tasks of a batch's instances, each handed to its step once."""

    def __init__(self, automation_ids, *, skip_locked=False):
        self.rows = lock_instances(automation_ids, skip_locked=skip_locked)
        self.tasks: dict[int, list] = {pk: [] for pk in self.rows}
        if self.rows:
            open_tasks = AutomationTaskModel.objects.filter(automation_id__in=list(self.rows), finished=None)
            for task in open_tasks.order_by("pk"):
                self.tasks[task.automation_id].append(task)
        self.loaded = set(automation_ids)
        self.valid = True
        self._own = 0

    def take(self, automation_id):
        """Return ``(row, open tasks)`` for the step of ``automation_id``; ``row`` is ``None`` if
        the row was not locked (gone, or held by another worker). Return ``None`` if the step must
        load its own."""
        if not self.valid or automation_id not in self.loaded:
            return None
        self.loaded.discard(automation_id)
        return self.rows.pop(automation_id, None), self.tasks.pop(automation_id, [])

    @contextmanager
    def own_writes(self):
        """Mark the statements inside as the running step's own writes of its own rows."""
        self._own += 1
        try:
            yield
        finally:
            self._own -= 1

    @contextmanager
    def watching(self):
        """Watch the statements on the connection for writes of instance or task rows by others."""
        with connection.execute_wrapper(self._watch):
            yield self

    def _watch(self, execute, sql, params, many, context):
        if self.valid and not self._own and _writes_rows(sql):
            self.valid = False
        return execute(sql, params, many, context)


def _writes_rows(sql) -> bool:
    if not isinstance(sql, str):
        return True
    if sql.lstrip()[:9].upper().startswith(READS):
        return False
    lowered = sql.lower()
    return any(table in lowered for table in TABLES)
