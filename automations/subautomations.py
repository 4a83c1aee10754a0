"""Sub-automations at run time: a parent instance starts a child and learns how it stands.

A ``SubAutomation`` node (:mod:`automations.flow.subautomation`) calls :func:`start_child` on its
first visit and :func:`child_state` on every later one. The child's row names its parent
(``AutomationModel.parent``); when the child stops, its last step makes the parent due
(:mod:`automations.engine.children`) and, without a scheduler worker, :func:`advance_parent` runs
the parent once that step has committed. A child deleted before it stopped (``kill()``, the admin,
``QuerySet.delete()``) wakes its parent in the deleting transaction, and the parent's node fails
as the child is gone. Cancelling a parent cancels its children (:mod:`automations.instance_actions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.utils import timezone

from automations import engine, instances, registry
from automations.engine import children
from automations.engine.hooks import StepReport
from automations.events import wakeups
from automations.models import AutomationModel, Status


@dataclass(frozen=True)
class ChildState:
    """How a child instance stands: its status, its data and its error (``status`` ``""``: gone)."""

    automation_id: int
    status: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def finished(self) -> bool:
        """Whether the child reached its end."""
        return self.status == Status.FINISHED

    @property
    def stopped(self) -> bool:
        """Whether the child stopped without finishing: failed, cancelled, or deleted."""
        return self.status in (Status.FAILED, Status.CANCELLED, "")

    def failure(self) -> str:
        """Return a sentence that says why the child did not finish."""
        if self.status == Status.CANCELLED:
            return f"Sub-automation #{self.automation_id} was cancelled."
        if not self.status:
            return f"Sub-automation #{self.automation_id} no longer exists."
        return f"Sub-automation #{self.automation_id} failed: {self.error}"


def automation_class(value: type | str) -> type[Any]:
    """Return the declared automation class ``value`` names (a class, or its dotted path)."""
    if isinstance(value, str):
        return registry.get(value)
    if not registry.is_automation_class(value):
        raise TypeError(f"SubAutomation() needs an automation class or its dotted path, not {value!r}.")
    return value


def start_child(parent: Any, child_class: type | str, data: dict[str, Any]) -> int:
    """Create an instance of ``child_class`` with ``data`` as a child of ``parent``; return its id.

    Call it inside the parent's step: the child's row commits with it, and the child runs once it
    has (at once without a worker, else on the worker). A ``unique`` class whose instance with
    these data runs already is awaited instead (it is made this parent's child if it has none).
    """
    cls: Any = automation_class(child_class)
    child = cls.__new__(cls)
    values, model_refs = instances.split_parameters(data)
    instances.create(child, values, model_refs)
    AutomationModel.objects.filter(pk=child.id, parent=None).update(parent=parent.id)
    if child._model.parent_id is None:
        child._model.parent_id = parent.id
    instances.wake(child)
    return child.id


def child_state(automation_id: int) -> ChildState:
    """Return how the child instance ``automation_id`` stands now."""
    row = AutomationModel.objects.filter(pk=automation_id).values("status", "data", "error").first()
    if row is None:
        return ChildState(automation_id, "")
    return ChildState(automation_id, row["status"], row["data"], row["error"])


def wake_parent(row: AutomationModel, status: str, now: datetime) -> None:
    """Wake the parent of the instance of ``row``, which stopped as ``status`` outside a step.

    The parent is made due in the current transaction; without a worker it runs once that commits.
    """
    parent_id = children.mark_parent_due(row, status, now)
    if parent_id is not None:
        _advance_after_commit(parent_id)


def _advance_after_commit(parent_id: int) -> None:
    """Without a scheduler worker, run the parent made due once the transaction commits."""
    if not wakeups.worker_available():
        transaction.on_commit(lambda: engine.advance(parent_id, due_only=True))


def advance_parent(report: StepReport) -> None:
    """After-step hook: without a scheduler worker, run the parent of a child that has just stopped.

    With a worker the child's step has made the parent due and told the worker.
    """
    if wakeups.worker_available() or report.result.status not in Status.stopped():
        return
    parent_id = report.automation._model.parent_id
    if parent_id is not None:
        engine.advance(parent_id, due_only=True)


def _child_deleted(sender: type[AutomationModel], instance: AutomationModel, **kwargs: Any) -> None:
    # The parent of a child that has not stopped waits without a wake time: nothing else would wake
    # it. A stopped child (old history being deleted) woke its parent when it stopped.
    if instance.parent_id is None or instance.status in Status.stopped():
        return
    children.make_parent_due(instance.parent_id, timezone.now())
    _advance_after_commit(instance.parent_id)


def connect_receivers() -> None:
    """Connect the receiver that wakes the parent of a deleted child (called by the app config)."""
    post_delete.connect(
        _child_deleted, sender=AutomationModel, dispatch_uid="automations.subautomations.deleted"
    )
