"""The step: one instance advanced in one transaction, the one place where instances move.

:func:`advance` runs one *step* of one instance::

    with transaction.atomic():
        row = lock the instance's row (select_for_update where the database has it)
        walk every open path as far as it goes (.walk), each node visit one task row
        write the task rows (bulk_create, update) and the instance's row (update())
    after the commit: the registered hooks (.hooks), the signals, the wake-up

Node code that may write (``Node.runs_code()``) runs inside its own ``transaction.atomic()``
savepoint: a node that raises leaves no database effects (nor ``on_commit`` callbacks) and its
``data`` changes are undone. If the process dies mid-step, the transaction rolls back and
the instance is where it was. :func:`deliver` is the one door for a message: the receiver runs
under the same lock, in the same transaction as the step it causes.
"""

from __future__ import annotations

import copy
import json
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from automations import lifecycle, registry, signals
from automations import settings as atm_settings
from automations.events import wakeups
from automations.logsafe import shown
from automations.models import AutomationModel, AutomationTaskModel, Status
from automations.outcomes import Outcome, Submission, Wait, current_path_item
from automations.receivers import receiver_for
from automations.stepping import current_steps, in_step, stepping, stepping_automation, touching

from . import admission, children, long_calls
from .fanout import FanOuts
from .hooks import StepReport, after_step
from .locking import lock_instance
from .walk import Cursor, NodeFailed, StepResult, Walk
from .writes import TaskWrites

logger = logging.getLogger("automations.engine")

LOGGED_ERROR_LENGTH = 500  # characters of an instance's error shown in a log line

#: An instance as the engine is handed one: a ``flow.Automation`` object (typed ``Any``, as the
#: facade sits above the engine), its :class:`~automations.models.AutomationModel` row, or its id.
InstanceRef: TypeAlias = AutomationModel | int | Any


@dataclass
class Message:
    """A message for an instance: the receiver ``receive_<name>`` called with ``token`` and ``data``."""

    name: str
    token: str | None = None
    data: Any = None
    received: Any = None  # what the receiver returned
    delivered: bool = False  # the receiver ran: the instance was running


# -- entry points -------------------------------------------------------------------------------


def advance(
    automation: InstanceRef,
    *,
    skip_locked: bool = False,
    due_only: bool = False,
    run_threaded: bool | None = None,
    submission: Submission | None = None,
) -> StepResult:
    """Advance one instance as far as it can go; return a :class:`StepResult`.

    ``automation`` is an ``Automation`` object, an ``AutomationModel`` or an id. ``skip_locked``
    returns at once (``skipped``) if another worker holds the instance; ``due_only`` does nothing
    unless the instance's wake time has come. ``run_threaded=False`` leaves ``Execute(threaded=True)``
    nodes to the scheduler worker (default: only when a worker runs). ``submission`` is a person's
    input for one of the instance's open form tasks.
    """
    return _step(automation, skip_locked=skip_locked, due_only=due_only, run_threaded=run_threaded,
                 submission=submission)  # fmt: skip


def advance_created(automation: Any) -> StepResult:
    """Run the first step of ``automation``, whose row the current transaction has just created.

    Call it inside that ``transaction.atomic()`` block, which is the step's transaction: no other
    process can see the row before it commits, so the step neither locks it nor looks for tasks.
    """
    model = automation._model
    with stepping(model.pk) as scope:
        return step_locked(automation, model, scope, run_threaded=wakeups.runs_threaded_here(),
                           open_tasks=[])  # fmt: skip


def deliver(automation: Any, message: str, token: str | None = None, data: Any = None, *,
            walk: bool = True) -> Message:  # fmt: skip
    """Call the receiver of ``message`` on the running instance ``automation``, under its row lock.

    One transaction: the row is locked, the receiver runs on the object the engine steps, the
    instance's data is saved, and (with ``walk``) the instance advances at once. Without ``walk``
    (a scheduler worker steps it, or the caller is inside another instance's step) the instance is
    made due instead. Inside the instance's own step the receiver runs at once and the step goes on
    afterwards. Return the :class:`Message`: ``delivered`` is false if the instance has stopped
    (finished, or stopped by an error) or is gone; ``received`` is what the receiver returned.
    """
    target = stepping_automation(automation.id) or automation
    delivery = Message(message, token, data)
    if in_step(target.id):
        if target._model.status in Status.active():
            delivery.received = getattr(target, _receiver_name(target, message))(token, data)
            delivery.delivered = True
            current_steps()[target.id].walk.woken = True
        return delivery
    _step(target, message=delivery, walk=walk)
    return delivery


def _step(automation: InstanceRef, *, skip_locked: bool = False, due_only: bool = False,
          run_threaded: bool | None = None, submission: Submission | None = None,
          message: Message | None = None, walk: bool = True) -> StepResult:  # fmt: skip
    automation_id = _id_of(automation)
    if in_step(automation_id):
        return StepResult(automation_id, skipped=True)
    touching(automation_id)  # a batch running here writes what it holds, and loads this one again
    if run_threaded is None:
        run_threaded = wakeups.runs_threaded_here()
    # The step's scope ends before the commit, so that what runs after it may advance it again.
    with transaction.atomic(), stepping(automation_id) as scope:
        row = lock_instance(automation_id, skip_locked=skip_locked)
        if row is None:
            return StepResult(automation_id, skipped=True)
        return step_locked(automation, row, scope, due_only=due_only, run_threaded=run_threaded,
                           submission=submission, message=message, walk=walk)  # fmt: skip


def step_locked(automation: InstanceRef, row: AutomationModel, scope: stepping, *, due_only: bool = False,
                run_threaded: bool, submission: Submission | None = None, message: Message | None = None,
                walk: bool = True, open_tasks: list[AutomationTaskModel] | None = None,
                batch: Any = None) -> StepResult:  # fmt: skip
    """Run the step of the instance whose ``row`` this transaction has locked, inside ``scope``.

    ``open_tasks`` are the instance's open task rows if already loaded; ``batch`` (a
    :class:`~.batches.Batch`) holds the step's row writes until the batch ends.
    """
    automation_id = row.pk
    now = batch.now if batch is not None else timezone.now()
    if due_only and (row.wake_at is None or row.wake_at > now):
        return StepResult(automation_id, skipped=True, wake_at=row.wake_at)
    if row.status in Status.stopped():
        if row.wake_at is not None:  # a stopped instance is never due again
            AutomationModel.objects.filter(pk=automation_id).update(wake_at=None)
        return StepResult(automation_id, finished=row.finished, error=row.error,
                          already_finished=row.finished, status=row.status)  # fmt: skip
    instance = _instance_for(automation, row)
    if instance is None:
        return StepResult(automation_id, error=row.error, status=row.status)
    step = _Step(instance, now, run_threaded=run_threaded, submission=submission, batch=batch)
    scope.attach(step)
    if message is not None:
        message.received = getattr(instance, _receiver_name(instance, message.name))(
            message.token, message.data
        )
        message.delivered = True
        if not walk:
            _save_after_message(instance, now)
            return StepResult(automation_id, wake_at=now)
        step.walk.woken = True
    result = step.run(open_tasks)
    _save_instance(instance, result, now, batch)
    _after_commit(instance, result, step.writes)
    return result


def _id_of(automation: InstanceRef) -> int:
    if isinstance(automation, int):
        return automation
    return automation.pk if isinstance(automation, AutomationModel) else automation.id


def _receiver_name(automation: Any, message: str) -> str:
    return receiver_for(type(automation), message).__name__


def _instance_for(automation: InstanceRef, row: AutomationModel) -> Any:
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


def _refresh(model: AutomationModel, row: AutomationModel) -> None:
    for name in ("data", "finished", "wake_at", "error", "status", "model_refs", "automation_class"):
        setattr(model, name, getattr(row, name))


def mark_error(row: AutomationModel, message: str) -> None:
    """Stop the instance of ``row`` with the error ``message``."""
    logger.error("Automation instance %s stopped: %s", row.pk, shown(message, LOGGED_ERROR_LENGTH))
    row.error, row.wake_at, row.status = message, None, Status.FAILED
    lifecycle.fail(row.pk, message)


# -- one step -------------------------------------------------------------------------------------


class _Visit:
    """What a node sees of the step: its task, the time, and a few engine services."""

    def __init__(self, step: _Step, cursor: Cursor) -> None:
        self.step, self.task, self.now = step, cursor.task, step.now
        self.run_threaded = step.run_threaded
        self.automation = step.automation
        submission = step.submission
        self.submission = submission if submission and submission.task_id == cursor.task.pk else None

    def previous_result(self, node_name: str) -> dict[str, Any] | None:
        """Return the result of this node's latest finished visit (e.g. a Repeat's schedule)."""
        self.step.writes.flush()  # an earlier visit in this step counts too
        row = (
            AutomationTaskModel.objects.filter(automation=self.step.model, status=node_name)
            .exclude(finished=None)
            .order_by("-pk")
            .values_list("result", flat=True)
            .first()
        )
        return row if isinstance(row, dict) else None

    def admit(self, limits: tuple[Any, ...]) -> Wait | None:
        """Admit the path to its node under flow-control ``limits`` (:mod:`.admission`)."""
        return admission.take_tickets(self.automation, self.task.status, limits, self.now)

    def call_on_task_backend(self, node: Any) -> Outcome | None:
        """Run ``node``'s call on the project's task backend (:mod:`.long_calls`), if it has one."""
        return long_calls.visit(self, node)


class _Step:
    """One step of one instance: the walk, the node visits in savepoints, the task rows' writes."""

    def __init__(
        self, automation: Any, now: datetime, *, run_threaded: bool, submission: Submission | None,
        batch: Any = None,
    ) -> None:
        self.automation, self.now = automation, now
        self.model = automation._model
        self.run_threaded, self.submission = run_threaded, submission
        self.writes = batch.writes() if batch is not None else TaskWrites()
        self.walk = Walk(automation, now, self.writes, visit_node=self.visit_node,
                         on_failure=self.task_failed, submission=submission,
                         fan_outs=FanOuts(load=self.load_task))  # fmt: skip

    def run(self, open_tasks: list[AutomationTaskModel] | None = None) -> StepResult:
        if open_tasks is None:
            open_tasks = list(
                AutomationTaskModel.objects.filter(automation_id=self.model.pk, finished=None).order_by("pk")
            )
        for task in open_tasks:
            task.automation = self.model
        if not open_tasks and (waiting := admission.take_place(self.automation, self.now)) is not None:
            return self.wait_for_place(waiting)
        self.walk.start(open_tasks)
        result = self.walk.run(
            limit=atm_settings.get("ATM_STEP_NODE_LIMIT"), stop_after_submission=not self.run_threaded
        )
        if result.finished and self.walk.left_open():
            self.writes.flush()
            AutomationTaskModel.objects.filter(automation_id=self.model.pk, finished=None).update(
                finished=self.now, message="ended"
            )
        elif self.writes.held_by is None:  # a batch writes its steps' rows when it ends
            self.writes.flush()
        if result.error:
            logger.error("Automation instance %s stopped: %s", self.model.pk,
                         shown(result.error, LOGGED_ERROR_LENGTH))  # fmt: skip
        return result

    def wait_for_place(self, waiting: Wait) -> StepResult:
        """End the step of a new instance kept before its first node by its class's ``Meta.concurrency``."""
        result = self.walk.result
        result.wake_at, result.status = waiting.until, Status.WAITING_FOR_TIME
        return result

    def load_task(self, pk: str) -> AutomationTaskModel | None:
        """Return this instance's task ``pk`` (a fan-out's, started in an earlier step), or ``None``."""
        return AutomationTaskModel.objects.filter(pk=pk, automation_id=self.model.pk).first()

    def visit_node(self, node: Any, cursor: Cursor) -> Outcome:
        """Visit ``node`` (with its item, on a fan-out's path): see :meth:`visit_in_savepoint`."""
        if "#" not in cursor.task.path:
            return self.visit_in_savepoint(node, cursor)
        token = current_path_item.set(self.walk.fan_outs.item(cursor.stack))
        try:
            return self.visit_in_savepoint(node, cursor)
        finally:
            current_path_item.reset(token)

    def visit_in_savepoint(self, node: Any, cursor: Cursor) -> Outcome:
        """Visit ``node``; code that may write runs in a savepoint, its ``data`` changes undone on failure."""
        visit = _Visit(self, cursor)
        if not node.runs_code():
            return node.visit(visit)
        # The rows of this step's earlier visits wait in self.writes: the savepoint holds the
        # node's own writes only, and the rows go out with the step's others at its end.
        before = DataSnapshot(self.model.data)
        try:
            with transaction.atomic():
                return node.visit(visit)
        except Exception as exc:  # a failing node is recorded, never propagated
            self.model.data = before.restore()
            raise NodeFailed(exc) from exc

    def task_failed(self, task: AutomationTaskModel, exc: BaseException) -> None:
        _send_robust(signals.task_failed, type(self.automation), task=task, exception=exc)


class DataSnapshot:
    """The instance's ``data`` before a node runs, to put back if the node fails.

    Taken before every node that runs code, so it must be quick for large data (a fan-out's
    thousands of items): the data is pickled (several times faster than ``copy.deepcopy()``) and
    unpickled only when a node fails; data that does not pickle is deep-copied.
    """

    __slots__ = ("pickled", "copied")

    def __init__(self, data: Any) -> None:
        self.pickled: bytes | None = None
        self.copied: Any = None
        try:
            self.pickled = pickle.dumps(data, pickle.HIGHEST_PROTOCOL)
        except Exception:
            self.copied = copy.deepcopy(data)

    def restore(self) -> Any:
        """Return a copy of the data as it was."""
        if self.pickled is None:
            return self.copied
        return pickle.loads(self.pickled)  # noqa: S301  (bytes this process made a moment ago)


def _save_instance(instance: Any, result: StepResult, now: datetime, batch: Any = None) -> None:
    """Store where the step left the instance (and stop it if its data is not JSON).

    In a ``batch`` the row is written when the batch ends, with the others.
    """
    model = instance._model
    columns: dict[str, Any] = {}
    try:
        _strict_json(model.data)
        columns["data"] = model.data
    except (TypeError, ValueError) as exc:
        result.error = f"The instance's data is not JSON serializable: {exc!r}"
        result.finished, result.wake_at, result.status = False, None, Status.FAILED
    model.finished, model.wake_at, model.error = result.finished, result.wake_at, result.error
    model.status = result.status
    children.mark_parent_due(model, result.status, now)
    if batch is not None and "data" in columns:  # data that is not JSON keeps the stored data
        batch.hold(model)
        return
    lifecycle.record_step(model.pk, status=result.status, finished=result.finished, error=result.error,
                          wake_at=result.wake_at, now=now, **columns)  # fmt: skip


def _save_after_message(instance: Any, now: datetime) -> None:
    """Store the data a receiver changed and make the instance due now (a worker steps it)."""
    model = instance._model
    _strict_json(model.data)
    lifecycle.make_due(model.pk, now, data=model.data)
    model.wake_at, model.status = now, Status.RUNNING


def _after_commit(instance: Any, result: StepResult, writes: TaskWrites) -> None:
    """Register what follows the step once it commits: the hooks, the public signals, the wake-up."""
    cls = type(instance)
    follow_ups: list[Callable[[], None]] = []
    if result.visits:
        follow_ups.append(lambda: _send_robust(signals.automation_advanced, cls, automation=instance))
    if result.finished:
        follow_ups.append(lambda: _send_robust(signals.automation_finished, cls, automation=instance))
    # The report is made at the commit: the rows a batch holds are written (and opened) by then.
    transaction.on_commit(lambda: after_step(
        StepReport(instance, result, tuple(writes.opened), tuple(writes.closed)), *follow_ups
    ))  # fmt: skip
    if result.wake_at is not None:
        wakeups.wake_at(instance.id, result.wake_at)


def _send_robust(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send ``signal``; a failing receiver is logged and never stops the engine."""
    for receiver, response in signal.send_robust(sender=sender, **kwargs):
        if isinstance(response, Exception):
            logger.error("Receiver %r of %s failed.", receiver, sender.__name__, exc_info=response)


_strict_json = json.JSONEncoder(allow_nan=False).encode  # json.dumps(value, allow_nan=False), made once
