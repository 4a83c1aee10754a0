"""The step walker: one step of one instance, the one place where automation instances advance.

``advance()`` runs one *step* of one instance: inside one transaction it locks the instance row,
loads the open tasks (one per waiting path), and moves every path as far as it can go. Each node
visit writes one task row; a node's own database work runs in a savepoint and commits with its row.
If the process dies mid-step, the transaction rolls back and the instance is where it was.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import traceback
from collections import deque
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, Error, connection, connections, transaction
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, post_save, pre_init, pre_save
from django.utils import timezone

from automations import registry, signals, wakeups
from automations import settings as atm_settings
from automations.logsafe import shown
from automations.models import AutomationModel, AutomationTaskModel
from automations.outcomes import UNCHANGED, Finish, JoinArrival, Proceed, Wait
from automations.stepping import current_steps, in_step, stepping

from .batches import task_values
from .locking import lock_instance
from .paths import frame, frame_join, split_stack, within

logger = logging.getLogger("automations.engine")

MESSAGE_LENGTH = AutomationTaskModel._meta.get_field("message").max_length
TASK_TABLE = AutomationTaskModel._meta.db_table.lower()
LOGGED_ERROR_LENGTH = 500  # characters of an instance's error shown in a log line


@dataclass
class StepResult:
    """What one step of one instance did."""

    automation_id: int
    stopped_at: list[str] = field(default_factory=list)
    finished_at: str | None = None  # the node where the instance finished: its End, or a path's last node
    wake_at: datetime | None = None
    finished: bool = False
    error: str = ""
    visits: int = 0
    skipped: bool = False
    already_finished: bool = False


@dataclass
class Submission:
    """A person's input for an open task (a submitted form), handed to the node that waits for it."""

    task_id: int
    result: object = None
    user: object = None
    apply: object = None  # optional callable run inside the step, e.g. saving a ModelForm
    consumed: bool = False  # set by the node that took the input; False after the step: not taken


def _refresh(model, row):
    for name in ("data", "finished", "wake_at", "error", "model_refs", "automation_class"):
        setattr(model, name, getattr(row, name))


# -- entry points -------------------------------------------------------------------------------


def advance(
    automation, *, skip_locked=False, due_only=False, run_threaded=None, submission=None, batch=None
):
    """Advance one instance as far as it can go; return a :class:`StepResult`.

    ``automation`` is an ``Automation`` object, an ``AutomationModel`` or an id. ``skip_locked``
    returns at once (``skipped``) if another worker holds the instance; ``due_only`` does nothing
    unless the instance's wake time has come. ``run_threaded=False`` leaves ``Execute(threaded=True)``
    nodes to the scheduler worker (default: only when a worker runs). ``batch`` (a
    :class:`~.batches.Batch` of the enclosing transaction) may hold the instance's locked row and
    open tasks; the step's writes to its own rows then wait for the batch's.
    """
    automation_id = automation if isinstance(automation, int) else automation.pk if isinstance(
        automation, AutomationModel
    ) else automation.id
    if in_step(automation_id):
        return StepResult(automation_id, skipped=True)
    if run_threaded is None:
        run_threaded = wakeups.runs_threaded_here()
    own_writes = batch.own_writes if batch is not None else nullcontext
    with stepping(automation_id):
        with _step_transaction() if batch is None else batch.step(automation_id):
            loaded = batch.take(automation_id) if batch is not None else None
            if loaded is None:
                row, open_tasks = lock_instance(automation_id, skip_locked=skip_locked), None
            else:
                row, open_tasks = loaded
            if row is None:
                return StepResult(automation_id, skipped=True)
            now = timezone.now() if batch is None else batch.now
            if due_only and (row.wake_at is None or row.wake_at > now):
                return StepResult(automation_id, skipped=True, wake_at=row.wake_at)
            if row.finished or row.error:
                if row.wake_at is not None:  # a stopped instance is never due again
                    with own_writes():
                        AutomationModel.objects.filter(pk=automation_id).update(wake_at=None)
                return StepResult(automation_id, finished=row.finished, error=row.error,
                                  already_finished=row.finished)  # fmt: skip
            instance = batch.prepared.pop(automation_id, None) if loaded is not None else None
            if instance is None:
                with own_writes():
                    instance = _instance_for(automation, row)
            if instance is None:
                return StepResult(automation_id, error=row.error)
            step = _Step(instance, now, run_threaded=run_threaded, submission=submission, batch=batch)
            current_steps()[automation_id] = step
            result = step.run(open_tasks)
            with own_writes():
                if batch is None:
                    _save_instance(instance, result, now)
                else:
                    batch.update_instance(instance._model, _instance_fields(instance, result, now))
    _after_commit(instance, result)  # outside the step: receivers may advance this instance again
    return result


@contextmanager
def _step_transaction():
    """``transaction.atomic()`` for one step, but inside a transaction its savepoint is not released.

    The step's effects then commit with the enclosing transaction (a message's, a batch of timers')
    one statement cheaper; a step that raises is rolled back to the savepoint with the ``on_commit``
    callbacks it registered, as ``atomic()`` does.
    """
    if not connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    sid = connection.savepoint()
    callbacks = len(connection.run_on_commit)
    try:
        yield
    except BaseException:
        _roll_back_step(sid, callbacks)
        raise
    if connection.needs_rollback:  # set_rollback(True) inside the step, as atomic() undoes it
        _roll_back_step(sid, callbacks)


def _roll_back_step(sid, callbacks):
    connection.needs_rollback = False
    if connection.closed_in_transaction:
        connection.needs_rollback = True
        return
    try:
        connection.savepoint_rollback(sid)
    except Exception:
        connection.needs_rollback = True  # the enclosing transaction rolls back instead
        raise
    del connection.run_on_commit[callbacks:]


def _instance_for(automation, row):
    """Return the ``Automation`` object to run, refreshed from the locked ``row``, or mark an error."""
    if not isinstance(automation, int | AutomationModel):
        _refresh(automation._model, row)
        return automation
    model = automation if isinstance(automation, AutomationModel) else row
    _refresh(model, row)
    try:
        cls = registry.get(row.automation_class)
    except registry.UnknownAutomationError as exc:
        mark_error(row, str(exc))
        return None
    instance = cls(automation=model)
    _refresh(instance._model, row)  # the thread's shared row object may be older than the locked row
    return instance


def prepare(batch, automation_ids, *, until) -> None:
    """Build the ``Automation`` objects of the batch's locked instances ahead of their steps, one
    after another until ``until`` (an aware ``datetime``): what a batch loaded ahead of the wake
    time does while it waits. An instance that cannot be built here is left to its step."""
    for automation_id in automation_ids:
        if timezone.now() >= until:
            return
        row = batch.rows.get(automation_id)
        if row is None or row.finished or row.error or automation_id in batch.prepared:
            continue
        try:
            registry.get(row.automation_class)
        except registry.UnknownAutomationError:
            continue  # the step stops the instance with the error
        with batch.own_writes():
            batch.prepared[automation_id] = _instance_for(automation_id, row)


def mark_error(row, message):
    logger.error("Automation instance %s stopped: %s", row.pk, shown(message, LOGGED_ERROR_LENGTH))
    row.error, row.wake_at = message, None
    AutomationModel.objects.filter(pk=row.pk).update(error=message, wake_at=None, updated=timezone.now())


def lock_for_message(automation) -> bool:
    """Lock ``automation`` for a message receiver; return ``False`` if it has stopped or is gone.

    An instance has stopped when it finished or an error stopped it.
    """
    if in_step(automation.id):
        return not (automation._model.finished or automation._model.error)
    row = lock_instance(automation.id)
    if row is None:
        return False
    _refresh(automation._model, row)
    return not (row.finished or row.error)


def save_after_message(automation) -> None:
    """Store the data a receiver changed and make the instance due now.

    Inside the instance's own step the step saves the data and makes the instance due again.
    """
    model = automation._model
    step = current_steps().get(model.pk)
    if step is not None:
        step.woken = True
        return
    _strict_json(model.data)
    now = timezone.now()
    AutomationModel.objects.filter(pk=model.pk).update(data=model.data, wake_at=now, updated=now)
    model.wake_at = now


# -- one step -------------------------------------------------------------------------------------


@dataclass
class _Cursor:
    """A path at a node: the node's name, its (open or unsaved) task, and the splits it is inside.

    Each frame of ``stack`` is ``"<split task id>@<join name>"``: the split that started the path
    and the ``Join`` where its paths meet.
    """

    node: str
    task: AutomationTaskModel
    stack: tuple[str, ...] = ()


class _Visit:
    """What a node sees of the step: its task, the time, and a few engine services."""

    def __init__(self, step, cursor):
        self.step, self.task, self.now = step, cursor.task, step.now
        self.run_threaded = step.run_threaded
        self.automation = step.automation
        submission = step.submission
        self.submission = submission if submission and submission.task_id == cursor.task.pk else None

    def previous_result(self, node_name):
        """Return the result of this node's latest finished visit (e.g. a Repeat's schedule)."""
        row = (
            AutomationTaskModel.objects.filter(automation=self.step.model, status=node_name)
            .exclude(finished=None)
            .order_by("-pk")
            .values_list("result", flat=True)
            .first()
        )
        return row if isinstance(row, dict) else None


class _Step:
    """One step of one instance: move every open path as far as it goes, then conclude."""

    def __init__(self, automation, now, *, run_threaded, submission, batch=None):
        self.automation, self.now = automation, now
        self.model = automation._model
        self.cls = type(automation)
        self.run_threaded, self.submission = run_threaded, submission
        self.queue: deque[_Cursor] = deque()
        self.waiting: list[tuple[_Cursor, Wait]] = []
        self.at_joins: list[_Cursor] = []  # paths that arrived at a Join inside a split this step
        self.woken = False  # a message arrived during the step
        self.last_visited: str | None = None
        self.result = StepResult(self.model.pk)
        self.unwritten: list[AutomationTaskModel] = []  # new task rows, inserted together (_write_tasks)
        self.written_in_savepoint: list[AutomationTaskModel] = []
        self.savepoint = None  # the running node's savepoint, once its code sent a statement
        self.node_running = False
        self.engine_statement = False
        self.batch = batch  # the batch of due instances this step is part of (see batches.Batch)
        self.db = connections[DEFAULT_DB_ALIAS]  # the connection, without the proxy's lookup at each use
        self.own_writes = batch.own_writes if batch is not None else nullcontext

    def run(self, open_tasks=None) -> StepResult:
        """Run the step; ``open_tasks`` are the instance's open tasks if already loaded."""
        with self.db.execute_wrapper(self._before_statement):
            return self._run(open_tasks)

    def _run(self, open_tasks) -> StepResult:
        if open_tasks is None:
            open_tasks = list(
                AutomationTaskModel.objects.filter(automation=self.model, finished=None).order_by("pk")
            )
        model = self.model
        for task in open_tasks:
            if task.automation_id == model.pk:  # what ``task.automation = model`` does then
                _AUTOMATION_FIELD.set_cached_value(task, model)
            else:
                task.automation = model
            self.queue.append(_Cursor(task.status, task, split_stack(task.path)))
        if not open_tasks and self.cls._node_names:
            self._continue(self.cls._node_names[0], ())  # a new instance starts at its first node
        limit = self.batch.node_limit if self.batch is not None else atm_settings.get("ATM_STEP_NODE_LIMIT")
        while not self.result.error and not self.result.finished:
            if not self.queue:
                if self.at_joins and self._merge_arrived_paths():
                    continue
                break
            if self.result.visits >= limit:
                break
            if self.submission is not None and self.submission.consumed and not self.run_threaded:
                break  # a worker runs: the person's request returns, the worker goes on from here
            self.result.visits += 1
            self._visit(self.queue.popleft())
        self._conclude()
        return self.result

    def _visit(self, cursor):
        self.last_visited = cursor.node
        declared = self.cls._nodes.get(cursor.node)
        if declared is None:
            path = self.cls.get_automation_class_name()
            self._stop(f"Node '{cursor.node}' does not exist in {path} any more.", cursor)
            self.queue.appendleft(cursor)
            return
        node = getattr(self.automation, cursor.node)
        try:
            outcome = self._outcome(node, _Visit(self, cursor))
        except Exception as exc:  # a failing node is recorded, never propagated
            self._failed(cursor, node, exc)
            return
        if isinstance(outcome, Proceed):
            self._finish_task(cursor.task, outcome.message, outcome.result)
            stack = cursor.stack
            if outcome.split:
                self._write_tasks()  # the split's paths name its task's id
                stack = (*stack, frame(cursor.task.pk, getattr(declared, "matching_join", None)))
            for target in outcome.targets:
                self._continue(target or declared._successor, stack)
        elif isinstance(outcome, Wait):
            self._wait(cursor, outcome)
        elif isinstance(outcome, Finish):
            self._finish_task(cursor.task, outcome.message, None)
            self.result.finished = True
            self.result.finished_at = cursor.node
        elif isinstance(outcome, JoinArrival):
            self._arrive_at_join(cursor, declared)
        else:
            raise TypeError(f"{node!r} returned {outcome!r}, not an outcome.")

    def _outcome(self, node, visit):
        """Visit ``node``; project code runs in a savepoint and its ``data`` changes undo on failure.

        The savepoint is set just before the code's first statement (see ``_before_statement``), so
        code that never touches the database costs none, and it is not released: it goes with the
        step's transaction. A failing node is rolled back to it, with the ``on_commit`` callbacks it
        registered, as ``transaction.atomic()`` would do.
        """
        if not node.runs_code():
            return node.visit(visit)
        data = copy.deepcopy(self.model.data)
        callbacks = len(self.db.run_on_commit)
        self.node_running, self.savepoint, self.written_in_savepoint = True, None, []
        try:
            outcome = node.visit(visit)
        except Exception:
            self.node_running = False
            self.model.data = data
            self._roll_back_node(callbacks)
            raise
        self.node_running = False
        if self.db.needs_rollback:  # the code called transaction.set_rollback(True)
            self._roll_back_node(callbacks)
        self.savepoint, self.written_in_savepoint = None, []
        return outcome

    def _roll_back_node(self, callbacks):
        self.db.needs_rollback = False
        if self.savepoint is not None:
            try:
                self.db.savepoint_rollback(self.savepoint)
            except Error:
                self.db.needs_rollback = True  # the step's transaction rolls back instead
                raise
            for task in self.written_in_savepoint:  # earlier nodes' rows, rolled back with the savepoint
                task.pk, task._state.adding = None, True
            self.unwritten[:0] = self.written_in_savepoint
        del self.db.run_on_commit[callbacks:]
        self.savepoint, self.written_in_savepoint = None, []

    def _before_statement(self, execute, sql, params, many, context):
        """Run before every statement of the step: write the new task rows before anything that
        may read them, and set the running node's savepoint before its first statement."""
        if self.batch is not None and self.batch.quiet:  # the batch writes what its steps held back
            return execute(sql, params, many, context)
        if not self.engine_statement and (self.unwritten or self.node_running and self.savepoint is None):
            self.engine_statement = True
            try:
                if self.unwritten and _may_read_tasks(sql):
                    self._write_tasks()
                if self.node_running and self.savepoint is None:
                    self.savepoint = self.db.savepoint()
            finally:
                self.engine_statement = False
        return execute(sql, params, many, context)

    def _store(self, task):
        """Save ``task``: a new row waits in ``unwritten`` until something may read it or the step ends."""
        if task.pk is not None:
            self._update_task(task)
        elif all(task is not unwritten for unwritten in self.unwritten):
            self.unwritten.append(task)

    def _update_task(self, task):
        """``task.save()`` of an existing row, its UPDATE marked as the step's own write."""
        if self.batch is not None:
            self.batch.update_task(task)
            return
        using = self.db.alias
        pre_save.send(AutomationTaskModel, instance=task, raw=False, using=using, update_fields=None)
        values = task_values(task)
        with self.own_writes():
            updated = AutomationTaskModel._base_manager.using(using).filter(pk=task.pk).update(**values)
        if not updated:  # the row was deleted meanwhile: as save() does, insert it again
            task.save(force_insert=True)
            return
        task._state.adding, task._state.db = False, using
        post_save.send(AutomationTaskModel, instance=task, created=False, raw=False, using=using,
                       update_fields=None)  # fmt: skip

    def _write_tasks(self, *, at_end=False):
        """Insert the unwritten task rows in one statement, in the order they were stored.

        At the step's end (``at_end``) in a batch, the batch writes them with its own."""
        tasks, self.unwritten = self.unwritten, []
        if not tasks:
            return
        held = at_end and self.batch is not None and self.db.features.can_return_rows_from_bulk_insert
        if held and self.batch.insert_tasks(tasks):
            return
        engine_statement, self.engine_statement = self.engine_statement, True
        try:
            if not self.db.features.can_return_rows_from_bulk_insert:
                for task in tasks:
                    task.save()
            else:
                for task in tasks:
                    pre_save.send(AutomationTaskModel, instance=task, raw=False, using=self.db.alias,
                                  update_fields=None)  # fmt: skip
                with self.own_writes():
                    AutomationTaskModel.objects.bulk_create(tasks)
                for task in tasks:
                    post_save.send(AutomationTaskModel, instance=task, created=True, raw=False,
                                   using=self.db.alias, update_fields=None)  # fmt: skip
        finally:
            self.engine_statement = engine_statement
        if self.node_running and self.savepoint is not None:
            self.written_in_savepoint += tasks

    def _continue(self, node_name, stack):
        if node_name is None:
            return  # the path ran past the last node: it ends here
        task = new_task(self.model, node_name, self.now, "/".join(stack))
        self.queue.append(_Cursor(node_name, task, stack))

    def _finish_task(self, task, message, result):
        task.finished = self.now
        task.message = message[:MESSAGE_LENGTH]
        task.result = _jsonable(result)
        if self.submission is not None and self.submission.task_id == task.pk:
            task.finished_by = self.submission.user
        self._store(task)

    def _wait(self, cursor, outcome):
        task = cursor.task
        changed = outcome.result is not UNCHANGED and outcome.result != task.result
        if changed:
            task.result = _jsonable(outcome.result)
        if task.pk is None or changed:
            self._store(task)
        self.waiting.append((cursor, outcome))

    # -- joins ----------------------------------------------------------------------------------

    def _arrive_at_join(self, cursor, join):
        if not cursor.stack:  # not inside a split: nothing to wait for
            self._finish_task(cursor.task, "OK", None)
            self._continue(join._successor, ())
            return
        self.at_joins.append(cursor)

    def _merge_arrived_paths(self) -> bool:
        """Merge the paths at a Join whose sibling paths have all arrived or ended.

        Called when no path can move any more, so that every sibling path has gone as far as it
        can in this step. Inner splits merge first. Return whether paths were merged.
        """
        groups: dict[tuple, list[_Cursor]] = {}
        for cursor in self.at_joins:
            groups.setdefault((cursor.node, cursor.stack), []).append(cursor)
        for (node, stack), arrived in sorted(groups.items(), key=lambda item: -len(item[0][1])):
            prefix = "/".join(stack)
            merging = {id(cursor) for cursor in arrived}
            others = [c for c, _ in self.waiting] + [c for c in self.at_joins if id(c) not in merging]
            if any(within(c.stack, prefix) for c in [*others, *self.queue]):
                continue
            self.at_joins = [c for c in self.at_joins if id(c) not in merging]
            for cursor in arrived:
                self._finish_task(cursor.task, "OK", None)
            outer = stack[:-1]
            if outer and frame_join(outer[-1]) == node:
                self._continue(node, outer)  # the enclosing split's paths meet at this Join too
            else:
                self._continue(self.cls._nodes[node]._successor, outer)
            return True
        return False

    # -- failures and the end of the step -------------------------------------------------------

    def _failed(self, cursor, node, exc):
        task = cursor.task
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = {"error": details, "exception": _qualified_name(type(exc)), "traceback": details}
        self._finish_task(task, repr(exc), error)
        self._write_tasks()  # receivers see the failed task's row, as every earlier one
        _send_robust(signals.task_failed, self.cls, task=task, exception=exc)
        on_error = getattr(node, "_on_error", None)
        if on_error is not None:
            self._continue(node.target_name(on_error), cursor.stack)
            return
        self._stop(f"{self.cls.__name__}.{cursor.node}: {repr(exc)}"[:2000], cursor)

    def _stop(self, message, cursor):
        logger.error("Automation instance %s stopped: %s", self.model.pk, shown(message, LOGGED_ERROR_LENGTH))
        self.result.error = message
        self.result.stopped_at = [cursor.node]

    def _conclude(self):
        result, model = self.result, self.model
        if result.finished:
            self._write_tasks(at_end=True)
            still_open = self.waiting or any(c.task.pk is not None for c in [*self.queue, *self.at_joins])
            if still_open:
                with self.own_writes():
                    AutomationTaskModel.objects.filter(automation=model, finished=None).update(
                        finished=self.now, message="ended"
                    )
            result.stopped_at = []
            return
        for cursor in self.at_joins:  # their sibling paths are still on their way
            self._wait(cursor, Wait(until=None))
        self.at_joins = []
        for cursor in self.queue:
            if cursor.task.pk is None:
                self._store(cursor.task)
        self._write_tasks(at_end=True)
        if not self.queue and not self.waiting and not result.error:
            result.finished = True
            result.finished_at = self.last_visited
            return
        stopped = [c.node for c, _ in self.waiting] + [c.node for c in self.queue]
        if result.error:
            result.stopped_at = list(dict.fromkeys([*result.stopped_at, *stopped]))
            return
        result.stopped_at = stopped
        moments = [self.now] if self.queue or self.woken else []
        moments += [self.now if w.handoff else w.until for _, w in self.waiting if w.handoff or w.until]
        result.wake_at = min(moments) if moments else None


def _save_instance(instance, result, now):
    AutomationModel.objects.filter(pk=instance.id).update(**_instance_fields(instance, result, now))


def _instance_fields(instance, result, now) -> dict:
    """Return the instance row's columns after a step (and stop the instance if its data is not JSON)."""
    model = instance._model
    model.finished, model.wake_at, model.error = result.finished, result.wake_at, result.error
    fields = {"finished": model.finished, "wake_at": model.wake_at, "error": model.error, "updated": now}
    try:
        _strict_json(model.data)
        fields["data"] = model.data
    except (TypeError, ValueError) as exc:
        model.error = result.error = f"The instance's data is not JSON serializable: {exc!r}"
        model.finished = result.finished = False
        model.wake_at = result.wake_at = None
        fields.update(error=model.error, finished=False, wake_at=None)
    return fields


def _after_commit(instance, result):
    cls = type(instance)
    if result.visits:
        transaction.on_commit(lambda: _send_robust(signals.automation_advanced, cls, automation=instance))
    if result.finished:
        transaction.on_commit(lambda: _send_robust(signals.automation_finished, cls, automation=instance))
    if result.wake_at is not None:
        wakeups.wake_at(instance.id, result.wake_at)


def _send_robust(signal, sender, **kwargs):
    """Send ``signal``; a failing receiver is logged and never stops the engine."""
    for receiver, response in signal.send_robust(sender=sender, **kwargs):
        if isinstance(response, Exception):
            logger.error("Receiver %r of %s failed.", receiver, sender.__name__, exc_info=response)


def _may_read_tasks(sql) -> bool:
    """Return whether the statement ``sql`` may read or change task rows: whether it names their table."""
    return not isinstance(sql, str) or TASK_TABLE in sql or TASK_TABLE in sql.lower()


_TASK_FIELDS = AutomationTaskModel._meta.concrete_fields
_TASK_ATTNAMES = [column.attname for column in _TASK_FIELDS]
_GIVEN = ("automation", "status", "created", "path")  # what new_task() is given, in its order
_GIVEN_AT = [[column.name for column in _TASK_FIELDS].index(name) for name in _GIVEN]
_AUTOMATION_FIELD = AutomationTaskModel._meta.get_field("automation")
_PLAIN_INIT = AutomationTaskModel.__init__ is Model.__init__


def _task_defaults():
    """Return the defaults of a new task's columns by position, and ``[(position, default())]``
    for those whose default must be made anew for each task (a ``list``)."""
    fixed, fresh = [None] * len(_TASK_FIELDS), []
    for position, column in enumerate(_TASK_FIELDS):
        if column.primary_key or column.name in _GIVEN:
            continue
        if column.has_default() and callable(column.default):
            fresh.append((position, column.get_default))
        else:
            fixed[position] = column.get_default()
    return fixed, fresh


_FIXED_DEFAULTS, _FRESH_DEFAULTS = _task_defaults()


def new_task(model, status, created, path) -> AutomationTaskModel:
    """Return ``AutomationTaskModel(automation=model, status=status, created=created, path=path)``.

    It is built as ``Model.__init__`` builds a row from values in field order, with the same
    ``pre_init`` and ``post_init`` signals, but the values go straight into the new object's
    ``__dict__``: on a new object no field's descriptor does more, and it takes a third of the time.
    """
    values = list(_FIXED_DEFAULTS)
    for position, default in _FRESH_DEFAULTS:
        values[position] = default()
    for position, value in zip(_GIVEN_AT, (model.pk, status, created, path), strict=True):
        values[position] = value
    if _PLAIN_INIT:
        pre_init.send(sender=AutomationTaskModel, args=values, kwargs={})
        task = AutomationTaskModel.__new__(AutomationTaskModel)
        task._state = ModelState()
        task.__dict__.update(zip(_TASK_ATTNAMES, values, strict=True))
        post_init.send(sender=AutomationTaskModel, instance=task)
    else:
        task = AutomationTaskModel(*values)
    _AUTOMATION_FIELD.set_cached_value(task, model)
    return task


def _qualified_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_strict_json = json.JSONEncoder(allow_nan=False).encode  # json.dumps(value, allow_nan=False), made once


def _jsonable(value):
    """Return ``value`` if it is strict JSON that every database stores, else its ``repr``."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str and "\x00" not in value:
        return value
    if kind is float and math.isfinite(value):
        return value
    try:
        text = _strict_json(value)
    except (TypeError, ValueError):
        return repr(value)
    if "\\u0000" in text:  # PostgreSQL's jsonb cannot store NUL characters
        return repr(value)
    return value
