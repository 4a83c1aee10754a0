"""The engine: the one place where automation instances advance.

``advance()`` runs one *step* of one instance: inside one transaction it locks the instance row,
loads the open tasks (one per waiting path), and moves every path as far as it can go. Each node
visit writes one task row; a node's own database work runs in a savepoint and commits with its row.
If the process dies mid-step, the transaction rolls back and the instance is where it was.

Everything else calls this module: ``Automation.run()``, ``AutomationModel.run()`` (the sweep of
``manage.py automation_step``), the form views and the scheduler worker.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from automations import registry, signals, wakeups
from automations import settings as atm_settings
from automations.models import AutomationModel, AutomationTaskModel
from automations.outcomes import UNCHANGED, Finish, JoinArrival, Proceed, Wait

logger = logging.getLogger("automations.engine")

_state = threading.local()
MESSAGE_LENGTH = AutomationTaskModel._meta.get_field("message").max_length


@dataclass
class StepResult:
    """What one step of one instance did."""

    automation_id: int
    stopped_at: list[str] = field(default_factory=list)
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


# -- being inside a step ----------------------------------------------------------------------


def stepping_ids() -> set:
    """Return the ids of the instances this thread is currently advancing."""
    if not hasattr(_state, "ids"):
        _state.ids = set()
    return _state.ids


def in_step(automation_id=None) -> bool:
    """Return whether this thread is inside a step (of ``automation_id``, if given)."""
    ids = stepping_ids()
    return bool(ids) if automation_id is None else automation_id in ids


@contextmanager
def _stepping(automation_id):
    ids = stepping_ids()
    ids.add(automation_id)
    try:
        yield
    finally:
        ids.discard(automation_id)


def _lock(automation_id, *, skip_locked=False):
    queryset = AutomationModel.objects.filter(pk=automation_id)
    if connection.features.has_select_for_update:
        queryset = queryset.select_for_update(
            skip_locked=skip_locked and connection.features.has_select_for_update_skip_locked
        )
    return queryset.first()


def _refresh(model, row):
    for name in ("data", "finished", "wake_at", "error", "model_refs", "automation_class"):
        setattr(model, name, getattr(row, name))


# -- entry points -------------------------------------------------------------------------------


def start(model, *, first_node, due=True):
    """Open the first task of a new instance (``due``: let the scheduler run it now)."""
    now = timezone.now()
    if first_node is not None:
        AutomationTaskModel.objects.create(automation=model, status=first_node, created=now)
    if due:
        AutomationModel.objects.filter(pk=model.pk).update(wake_at=now)
        model.wake_at = now


def advance(automation, *, skip_locked=False, due_only=False, run_threaded=None, submission=None):
    """Advance one instance as far as it can go; return a :class:`StepResult`.

    ``automation`` is an ``Automation`` object, an ``AutomationModel`` or an id. ``skip_locked``
    returns at once (``skipped``) if another worker holds the instance; ``due_only`` does nothing
    unless the instance's wake time has come. ``run_threaded=False`` leaves ``Execute(threaded=True)``
    nodes to the scheduler worker (default: only when a worker runs).
    """
    automation_id = automation if isinstance(automation, int) else automation.pk if isinstance(
        automation, AutomationModel
    ) else automation.id
    if in_step(automation_id):
        return StepResult(automation_id, skipped=True)
    if run_threaded is None:
        run_threaded = not atm_settings.get("ATM_WORKER")
    with _stepping(automation_id):
        with transaction.atomic():
            row = _lock(automation_id, skip_locked=skip_locked)
            if row is None:
                return StepResult(automation_id, skipped=True)
            now = timezone.now()
            if due_only and (row.wake_at is None or row.wake_at > now):
                return StepResult(automation_id, skipped=True, wake_at=row.wake_at)
            if row.finished or row.error:
                return StepResult(automation_id, finished=row.finished, error=row.error,
                                  already_finished=row.finished)  # fmt: skip
            instance = _instance_for(automation, row)
            if instance is None:
                return StepResult(automation_id, error=row.error)
            step = _Step(instance, now, run_threaded=run_threaded, submission=submission)
            result = step.run()
            _save_instance(instance, result, now)
        _after_commit(instance, result)
    return result


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
        _mark_error(row, str(exc))
        return None
    return cls(automation=model)


def _mark_error(row, message):
    logger.error("Automation instance %s stopped: %s", row.pk, message)
    row.error, row.wake_at = message, None
    AutomationModel.objects.filter(pk=row.pk).update(error=message, wake_at=None, updated=timezone.now())


def lock_for_message(automation) -> bool:
    """Lock ``automation`` for a message receiver; return ``False`` if it has finished or is gone."""
    if in_step(automation.id):
        return not automation._model.finished
    row = _lock(automation.id)
    if row is None:
        return False
    _refresh(automation._model, row)
    return not row.finished


def save_after_message(automation) -> None:
    """Store the data a receiver changed and make the instance due now."""
    model = automation._model
    json.dumps(model.data, allow_nan=False)
    now = timezone.now()
    AutomationModel.objects.filter(pk=model.pk).update(data=model.data, wake_at=now, updated=now)
    model.wake_at = now


def sweep(*, limit=None) -> dict:
    """Advance every due instance once; skip those another worker holds.

    Return counts: ``{"advanced": n, "finished": n, "errors": n, "skipped": n}``.
    """
    counts = {"advanced": 0, "finished": 0, "errors": 0, "skipped": 0}
    seen = set()
    while True:
        batch = [
            pk
            for pk in AutomationModel.objects.due().exclude(pk__in=seen).values_list("pk", flat=True)[:200]
        ]
        if not batch:
            return counts
        for pk in batch:
            seen.add(pk)
            try:
                result = advance(pk, skip_locked=True, due_only=True, run_threaded=True)
            except Exception:
                logger.exception("Automation instance %s could not be advanced.", pk)
                counts["errors"] += 1
                continue
            if result.skipped:
                counts["skipped"] += 1
            else:
                counts["advanced"] += 1
                counts["finished"] += result.finished
                counts["errors"] += bool(result.error)
            if limit is not None and counts["advanced"] >= limit:
                return counts


# -- one step -------------------------------------------------------------------------------------


@dataclass
class _Cursor:
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
    def __init__(self, automation, now, *, run_threaded, submission):
        self.automation, self.now = automation, now
        self.model = automation._model
        self.cls = type(automation)
        self.run_threaded, self.submission = run_threaded, submission
        self.queue: deque[_Cursor] = deque()
        self.waiting: list[tuple[_Cursor, Wait | None]] = []
        self.result = StepResult(self.model.pk)

    def run(self) -> StepResult:
        open_tasks = AutomationTaskModel.objects.filter(automation=self.model, finished=None).order_by("pk")
        for task in open_tasks:
            task.automation = self.model
            self.queue.append(_Cursor(task.status, task, _split_stack(task.path)))
        limit = atm_settings.get("ATM_STEP_NODE_LIMIT")
        while self.queue and not self.result.error and not self.result.finished:
            if self.result.visits >= limit:
                break
            self.result.visits += 1
            self._visit(self.queue.popleft())
        self._conclude()
        return self.result

    def _visit(self, cursor):
        declared = self.cls._nodes.get(cursor.node)
        if declared is None:
            path = self.cls.get_automation_class_name()
            self._stop(f"Node '{cursor.node}' does not exist in {path} any more.")
            self.queue.appendleft(cursor)
            return
        node = getattr(self.automation, cursor.node)
        try:
            outcome = node.visit(_Visit(self, cursor))
        except Exception as exc:  # a failing node is recorded, never propagated
            self._failed(cursor, node, exc)
            return
        if isinstance(outcome, Proceed):
            self._finish_task(cursor.task, outcome.message, outcome.result)
            stack = (*cursor.stack, str(cursor.task.pk)) if outcome.split else cursor.stack
            for target in outcome.targets:
                self._continue(target or declared._successor, stack)
        elif isinstance(outcome, Wait):
            self._wait(cursor, outcome)
        elif isinstance(outcome, Finish):
            self._finish_task(cursor.task, outcome.message, None)
            self.result.finished = True
        elif isinstance(outcome, JoinArrival):
            self._arrive_at_join(cursor, declared)
        else:
            raise TypeError(f"{node!r} returned {outcome!r}, not an outcome.")

    def _continue(self, node_name, stack):
        if node_name is None:
            return  # the path ran past the last node: it ends here
        task = AutomationTaskModel(
            automation=self.model, status=node_name, created=self.now, path="/".join(stack)
        )
        self.queue.append(_Cursor(node_name, task, stack))

    def _finish_task(self, task, message, result):
        task.finished = self.now
        task.message = message[:MESSAGE_LENGTH]
        task.result = _jsonable(result)
        if self.submission is not None and self.submission.task_id == task.pk:
            task.finished_by = self.submission.user
        task.save()

    def _wait(self, cursor, outcome):
        task = cursor.task
        changed = outcome.result is not UNCHANGED and outcome.result != task.result
        if changed:
            task.result = _jsonable(outcome.result)
        if task.pk is None or changed:
            task.save()
        self.waiting.append((cursor, outcome))

    def _arrive_at_join(self, cursor, join):
        if not cursor.stack:
            self._finish_task(cursor.task, "OK", None)
            self._continue(join._successor, ())
            return
        prefix = "/".join(cursor.stack)
        at_join = lambda c: c.node == cursor.node and c.stack == cursor.stack  # noqa: E731
        alive = [c for c in self.queue if _within(c.stack, prefix) and not at_join(c)]
        alive += [c for c, _ in self.waiting if _within(c.stack, prefix) and not at_join(c)]
        if alive:
            self._wait(cursor, Wait(until=None))
            return
        arrived = [c for c, _ in self.waiting if at_join(c)] + [c for c in self.queue if at_join(c)]
        self.waiting = [(c, w) for c, w in self.waiting if not at_join(c)]
        self.queue = deque(c for c in self.queue if not at_join(c))
        for other in arrived:
            if other.task.pk is not None:
                self._finish_task(other.task, "OK", None)
        self._finish_task(cursor.task, "OK", None)
        self._continue(join._successor, cursor.stack[:-1])

    def _failed(self, cursor, node, exc):
        task = cursor.task
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = {"error": details, "exception": _qualified_name(type(exc)), "traceback": details}
        self._finish_task(task, repr(exc), error)
        signals.task_failed.send(sender=self.cls, task=task, exception=exc)
        on_error = getattr(node, "_on_error", None)
        if on_error is not None:
            self._continue(node.target_name(on_error), cursor.stack)
            return
        self._stop(f"{self.cls.__name__}.{cursor.node}: {repr(exc)}"[:2000])

    def _stop(self, message):
        logger.error("Automation instance %s stopped: %s", self.model.pk, message)
        self.result.error = message

    def _conclude(self):
        result, model = self.result, self.model
        unsaved = [c.task for c in self.queue if c.task.pk is None]
        if unsaved:
            AutomationTaskModel.objects.bulk_create(unsaved)
        if result.finished:
            if self.queue or self.waiting:
                AutomationTaskModel.objects.filter(automation=model, finished=None).update(
                    finished=self.now, message="ended"
                )
            result.stopped_at = []
            return
        if not self.queue and not self.waiting and not result.error:
            result.finished = True
            return
        result.stopped_at = [c.node for c, _ in self.waiting] + [c.node for c in self.queue]
        if result.error:
            return
        moments = [self.now] if self.queue else []
        moments += [self.now if w.handoff else w.until for _, w in self.waiting if w.handoff or w.until]
        result.wake_at = min(moments) if moments else None


def _save_instance(instance, result, now):
    model = instance._model
    model.finished, model.wake_at, model.error = result.finished, result.wake_at, result.error
    fields = {"finished": model.finished, "wake_at": model.wake_at, "error": model.error, "updated": now}
    try:
        json.dumps(model.data, allow_nan=False)
        fields["data"] = model.data
    except (TypeError, ValueError) as exc:
        model.error = result.error = f"The instance's data is not JSON serializable: {exc!r}"
        model.wake_at = result.wake_at = None
        fields.update(error=model.error, wake_at=None)
    AutomationModel.objects.filter(pk=model.pk).update(**fields)


def _after_commit(instance, result):
    cls = type(instance)
    if result.finished:
        transaction.on_commit(lambda: signals.automation_finished.send(sender=cls, automation=instance))
    if result.wake_at is not None:
        wakeups.hint(instance.id, result.wake_at)


def _within(stack, prefix) -> bool:
    joined = "/".join(stack)
    return joined == prefix or joined.startswith(prefix + "/")


def _split_stack(path: str) -> tuple[str, ...]:
    return tuple(path.split("/")) if path else ()


def _qualified_name(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _jsonable(value):
    """Return ``value`` if it is strict JSON (no NaN), else its ``repr``."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value
