"""Due instances advanced together, in one transaction (see ``consumers.scheduler``).

A :class:`Batch` locks the rows of its instances and loads their open tasks in two queries, so
that each step starts without a query of its own. It also holds back what the steps write to
their own rows: new task rows, changed tasks and the instance rows. When the batch ends, the new
task rows go in one ``INSERT`` and the changes of each table in one ``UPDATE`` (a ``CASE`` for the
columns whose values differ; ``bulk_update()`` writes every column through a ``CASE`` and measured
slower than one ``UPDATE`` per row).

No query can tell the difference. Before any other statement on the connection (a node's query, a
signal receiver's, a nested step's), everything held back is written first. A step's savepoint
is set just before its first statement, after the earlier steps' writes and before its own, so
that a step that fails is rolled back alone, as with one savepoint per step. The steps of a
batch share one time, its start, as all statements of a PostgreSQL transaction share ``now()``.

Whatever else writes instance or task rows while the batch runs may change rows loaded for a
later step: the first such statement makes the remaining steps load their own.
"""

from __future__ import annotations

import json
import operator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Case, DateField, DateTimeField, Field, Value, When
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from automations import settings as atm_settings
from automations.models import AutomationModel, AutomationTaskModel

from .locking import lock_instances

TABLES = (AutomationModel._meta.db_table.lower(), AutomationTaskModel._meta.db_table.lower())
READS = ("SELECT", "SAVEPOINT", "RELEASE")
TASK_FIELDS = [field for field in AutomationTaskModel._meta.concrete_fields if not field.primary_key]


@dataclass
class _Writes:
    """Writes held back: new task rows, task changes ``{id(task): (task, values)}``, instance rows."""

    inserts: list = field(default_factory=list)
    tasks: dict = field(default_factory=dict)
    instances: dict = field(default_factory=dict)

    def __bool__(self):
        return bool(self.inserts or self.tasks or self.instances)

    def add(self, other: _Writes) -> None:
        self.inserts += other.inserts
        self.tasks.update(other.tasks)
        self.instances.update(other.instances)


@dataclass
class _StepScope:
    """The running step: its writes held back, its savepoint once set, its first on_commit callback."""

    automation_id: int
    callbacks: int
    writes: _Writes = field(default_factory=_Writes)
    savepoint: str | None = None


class _BatchStep:
    """``Batch.step()``: a class, since it is entered once per step (a third of the time of a
    generator-based context manager)."""

    __slots__ = ("batch", "automation_id", "scope")

    def __init__(self, batch, automation_id):
        self.batch, self.automation_id = batch, automation_id

    def __enter__(self):
        batch = self.batch
        self.scope = batch._scope = _StepScope(self.automation_id, len(batch.db.run_on_commit))

    def __exit__(self, exc_type, exc, traceback):
        batch, scope = self.batch, self.scope
        try:
            if exc_type is not None or batch.db.needs_rollback:
                batch._roll_back(scope)
            else:
                batch._done.add(scope.writes)
        finally:
            batch._scope = None
        return False


class _OwnWrites:
    """``Batch.own_writes()``: counts how deep the running step's own writes are nested."""

    __slots__ = ("batch",)

    def __init__(self, batch):
        self.batch = batch

    def __enter__(self):
        self.batch._own += 1

    def __exit__(self, *exc_info):
        self.batch._own -= 1


class Batch:
    """The locked rows and open tasks of a batch's instances, and the writes their steps hold back."""

    def __init__(self, automation_ids, *, skip_locked=False):
        self.db = connections[DEFAULT_DB_ALIAS]  # the connection, without the proxy's lookup at each use
        self.now = timezone.now()
        self.node_limit = atm_settings.get("ATM_STEP_NODE_LIMIT")  # read once for the batch's steps
        self.rows = lock_instances(automation_ids, skip_locked=skip_locked)
        self.tasks: dict[int, list] = {pk: [] for pk in self.rows}
        self._loaded: dict[int, tuple] = {}  # task id -> (the task object loaded, keys of its values)
        if self.rows:
            open_tasks = AutomationTaskModel.objects.filter(automation_id__in=list(self.rows), finished=None)
            for task in open_tasks.order_by("pk"):
                self.tasks[task.automation_id].append(task)
                self._remember(task, task_values(task))
        self.loaded = set(automation_ids)
        self.prepared: dict = {}  # id -> its Automation object, built ahead (see steps.prepare)
        self.valid = True
        self.failure: BaseException | None = None  # a held-back write that failed: the batch rolls back
        self._own = 0
        self._own_writes = _OwnWrites(self)
        self._quiet = False  # the batch's own statement, or its signals' receivers, on the way
        self._writing = False  # the batch's own statement
        self._done = _Writes()  # of the steps that have ended
        self._scope: _StepScope | None = None

    @property
    def quiet(self) -> bool:
        """Whether the statement on its way is the batch's own (its writes, a step's savepoint)."""
        return self._quiet

    def take(self, automation_id):
        """Return ``(row, open tasks)`` for the step of ``automation_id``; ``row`` is ``None`` if
        the row was not locked (gone, or held by another worker). Return ``None`` if the step must
        load its own."""
        if not self.valid or automation_id not in self.loaded:
            return None
        self.loaded.discard(automation_id)
        return self.rows.pop(automation_id, None), self.tasks.pop(automation_id, [])

    # -- the steps ----------------------------------------------------------------------------

    def step(self, automation_id):
        """Run one step of the batch: its savepoint is set at its first statement, and a step that
        raises or calls ``set_rollback(True)`` is rolled back with its held-back writes and the
        ``on_commit`` callbacks it registered."""
        return _BatchStep(self, automation_id)

    def _roll_back(self, scope):
        self.db.needs_rollback = False
        scope.writes = _Writes()
        if scope.savepoint is not None:
            if self.db.closed_in_transaction:
                self.db.needs_rollback = True
                return
            try:
                with self._quietly(), self._own_statements():
                    self.db.savepoint_rollback(scope.savepoint)
            except Exception:
                self.db.needs_rollback = True  # the batch's transaction rolls back instead
                raise
        del self.db.run_on_commit[scope.callbacks:]

    def own_writes(self):
        """Mark the statements inside as the running step's own writes of its own rows."""
        return self._own_writes

    def insert_tasks(self, tasks) -> bool:
        """Hold back the INSERT of the running step's new task rows; return whether they were.

        Their ``post_save`` is sent when they are written. A ``post_save`` receiver of task rows
        may act on other instances of the batch, so the rows are held back only if every receiver
        was marked with :func:`receives_late` (it does not mind when in the transaction it runs)."""
        if not _late_receivers_only():
            return False
        for task in tasks:
            pre_save.send(AutomationTaskModel, instance=task, raw=False, using=self.db.alias,
                          update_fields=None)  # fmt: skip
        self._scope.writes.inserts += tasks
        return True

    def update_task(self, task) -> None:
        """Hold back ``task.save()`` of an existing task row of the running step.

        Its ``pre_save`` and ``post_save`` signals are sent now, as the step saves it: a receiver's
        query finds the row changed, because everything held back is written before it."""
        using = self.db.alias
        pre_save.send(AutomationTaskModel, instance=task, raw=False, using=using, update_fields=None)
        self._scope.writes.tasks[id(task)] = (task, task_values(task))
        task._state.adding, task._state.db = False, using
        post_save.send(AutomationTaskModel, instance=task, created=False, raw=False, using=using,
                       update_fields=None)  # fmt: skip

    def update_instance(self, model, values) -> None:
        """Hold back ``UPDATE`` of the running step's instance row with ``values``."""
        self._scope.writes.instances[model.pk] = values

    # -- writing ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what the ended steps held back; the batch calls this before it commits."""
        if self._done:
            with self._quietly():
                self._write(self._done)
            self._done = _Writes()

    @contextmanager
    def watching(self):
        """Watch the statements on the connection: write what is held back before each, set the
        running step's savepoint, and notice writes of instance or task rows by others."""
        with self.db.execute_wrapper(self._before_statement):
            yield self

    def _before_statement(self, execute, sql, params, many, context):
        if self.valid and not (self._own or self._writing) and _writes_rows(sql):
            self.valid = False
        if not self._quiet:
            scope = self._scope
            if self._done or scope is not None and (scope.savepoint is None or scope.writes):
                self._prepare(scope)
        return execute(sql, params, many, context)

    def _prepare(self, scope):
        with self._quietly():
            try:
                if self._done:
                    self._write(self._done)
                    self._done = _Writes()
                    if scope is not None:  # callbacks of the earlier steps' writes stay theirs
                        scope.callbacks = len(self.db.run_on_commit)
                if scope is not None:
                    if scope.savepoint is None:
                        with self._own_statements():
                            scope.savepoint = self.db.savepoint()
                    if scope.writes:
                        self._write(scope.writes)
                        scope.writes = _Writes()
            except Exception as exc:
                self.failure = exc
                self.db.needs_rollback = True
                raise

    @contextmanager
    def _quietly(self):
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    @contextmanager
    def _own_statements(self):
        writing, self._writing = self._writing, True
        try:
            yield
        finally:
            self._writing = writing

    def _write(self, writes) -> None:
        """Write ``writes``; the receivers of the new rows' ``post_save`` see every row written."""
        with self._own_statements():
            if writes.inserts:
                AutomationTaskModel.objects.bulk_create(writes.inserts)
            if writes.tasks:
                self._write_tasks(list(writes.tasks.values()))
            if writes.instances:
                update_rows(AutomationModel, list(writes.instances.items()))
        if writes.inserts:
            for task in writes.inserts:
                post_save.send(AutomationTaskModel, instance=task, created=True, raw=False,
                               using=self.db.alias, update_fields=None)  # fmt: skip

    def _write_tasks(self, changed) -> None:
        """Update the changed tasks, only the columns that changed since they were loaded."""
        by_columns: dict[tuple, list] = {}
        for task, values in changed:
            task_loaded, loaded = self._loaded.get(task.pk, (None, None))
            if task_loaded is task:  # a task the step loaded itself may differ from the batch's
                values = {name: value for name, value in values.items() if _key(value) != loaded[name]}
            by_columns.setdefault(tuple(values), []).append((task, values))
        for columns, group in by_columns.items():
            if columns:
                rows = [(task.pk, values) for task, values in group]
                if update_rows(AutomationTaskModel, rows) < len(rows):
                    self._insert_deleted([task for task, _ in group])
            for task, values in group:
                if self._loaded.get(task.pk, (None,))[0] is task:
                    self._remember(task, values)

    def _remember(self, task, values) -> None:
        keys = self._loaded[task.pk][1] if task.pk in self._loaded else {}
        self._loaded[task.pk] = (task, {**keys, **{name: _key(value) for name, value in values.items()}})

    def _insert_deleted(self, tasks) -> None:
        """As ``save()`` does, insert the rows of ``tasks`` that were deleted meanwhile again."""
        present = AutomationTaskModel.objects.filter(pk__in=[task.pk for task in tasks])
        present = set(present.values_list("pk", flat=True))
        for task in tasks:
            if task.pk not in present:
                task.save(force_insert=True)


_late_receivers: set = set()


def receives_late(receiver):
    """Mark a ``post_save`` receiver of task rows that may run later in the same transaction: a
    batch then holds back new task rows and sends their signal when it writes them."""
    _late_receivers.add(receiver)
    return receiver


def _late_receivers_only() -> bool:
    live = post_save._live_receivers(AutomationTaskModel)
    receivers = [receiver for group in live for receiver in group] if isinstance(live, tuple) else live
    return all(receiver in _late_receivers for receiver in receivers)


def update_rows(model, rows) -> int:
    """Update rows of ``model``; ``rows`` is ``[(pk, {column: value})]`` with the same columns for
    each row. Return the number of rows updated.

    Columns of the same value for all rows are set by one ``UPDATE``. Otherwise the ORM compiles
    the ``UPDATE`` of one row, and the cursor's ``executemany()`` sends it with each row's values,
    which psycopg sends in one round trip (and SQLite runs without going back to Python). Values
    that are expressions go in one ``UPDATE`` with a ``CASE`` on the primary key instead."""
    manager = model._base_manager
    if len(rows) == 1:
        pk, values = rows[0]
        return manager.filter(pk=pk).update(**values)
    first = rows[0][1]
    keys = {name: _key(value) for name, value in first.items()}
    if all(_key(values[name]) == key for _, values in rows[1:] for name, key in keys.items()):
        return manager.filter(pk__in=[pk for pk, _ in rows]).update(**first)
    updated = _update_each(model, rows)
    return updated if updated is not None else _update_by_case(model, rows)


def _update_each(model, rows) -> int | None:
    """Update ``rows`` with one statement sent once per row (``executemany()``); return ``None``,
    having written nothing, where a value is not a plain one that the ORM sends as a parameter."""
    db = connections[model._base_manager.db]
    names = list(rows[0][1])
    columns = [model._meta.get_field(name) for name in names]
    placeholders = ("get_placeholder", "get_placeholder_sql")
    if any(hasattr(column, name) for column in columns for name in placeholders):
        return None
    groups: dict[tuple, list] = {}  # rows by their NULL columns, which some Django versions write as NULL
    for pk, values in rows:
        prepared = []
        for name, column in zip(names, columns, strict=True):
            value = values[name]
            if hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save"):
                return None
            value = column.get_db_prep_save(value, connection=db)
            if hasattr(value, "as_sql"):
                return None
            prepared.append(value)
        key = model._meta.pk.get_db_prep_value(pk, db)
        groups.setdefault(tuple(value is None for value in prepared), []).append((pk, values, prepared, key))
    statements = []
    for group in groups.values():
        pk, values, prepared, _ = group[0]
        query = model._base_manager.filter(pk=pk).query.chain(UpdateQuery)
        query.add_update_values({name: values[name] for name in names})
        statement, params = query.get_compiler(db.alias).as_sql()
        if len(params) == len(prepared) + 1:
            statements.append((statement, [[*prepared, key] for _, _, prepared, key in group]))
        elif len(params) == len(_not_null(prepared)) + 1:
            statements.append((statement, [[*_not_null(prepared), key] for _, _, prepared, key in group]))
        else:
            return None
    updated = 0
    with db.cursor() as cursor:
        for statement, rows_params in statements:
            cursor.executemany(statement, rows_params)
            updated += cursor.rowcount
    return updated


def _not_null(values) -> list:
    return [value for value in values if value is not None]


def _update_by_case(model, rows) -> int:
    """Update ``rows`` in one ``UPDATE``: columns whose values differ get a ``CASE`` on the primary key."""
    first = rows[0][1]
    assignments = {}
    for name, value in first.items():
        key = _key(value)
        if all(_key(values[name]) == key for _, values in rows):
            assignments[name] = value
            continue
        output = model._meta.get_field(name)
        output = output.target_field if output.is_relation else output
        cases = [When(pk=pk, then=_value(values[name], output)) for pk, values in rows]
        assignments[name] = Case(*cases, output_field=output)
    return model._base_manager.filter(pk__in=[pk for pk, _ in rows]).update(**assignments)


def _value(value, output):
    return Value(None) if value is None else Value(value, output_field=output)


def _reads_attribute_only(column) -> bool:
    """Whether ``column.pre_save(task, add=False)`` only returns the attribute's value."""
    pre_save_method = type(column).pre_save
    if pre_save_method is Field.pre_save:
        return True
    return pre_save_method in (DateField.pre_save, DateTimeField.pre_save) and not column.auto_now


_TASK_ATTNAMES = [column.attname for column in TASK_FIELDS]
_READ_TASK_VALUES = (
    operator.attrgetter(*_TASK_ATTNAMES) if all(_reads_attribute_only(c) for c in TASK_FIELDS) else None
)


def task_values(task) -> dict:
    """Return what ``task.save()`` writes: each column's value, by attribute name."""
    if _READ_TASK_VALUES is not None:  # no column computes its value on save: read them at once
        return dict(zip(_TASK_ATTNAMES, _READ_TASK_VALUES(task), strict=True))
    return {column.attname: column.pre_save(task, False) for column in TASK_FIELDS}


def _key(value):
    """Return a key that is equal for equal column values (JSON values compared by their text)."""
    if isinstance(value, dict | list):
        return "json", json.dumps(value, sort_keys=True, default=repr)
    return type(value), value


def _writes_rows(sql) -> bool:
    if not isinstance(sql, str):
        return True
    if sql.lstrip()[:9].upper().startswith(READS):
        return False
    lowered = sql.lower()
    return any(table in lowered for table in TABLES)
