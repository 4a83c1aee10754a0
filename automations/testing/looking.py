"""Looking at instances in tests: the path they took, where they wait, the tasks people see."""

from __future__ import annotations

from typing import Any, TypeAlias

from automations.models import AutomationModel, AutomationTaskModel
from automations.tasklist.queries import open_tasks_for

__all__ = ["assert_at", "open_tasks", "path", "paths"]

#: An instance as the test kit takes it: a ``flow.Automation`` object (typed ``Any``: the test kit
#: does not import the facade), an ``AutomationModel`` or an id.
InstanceRef: TypeAlias = AutomationModel | int | Any


def _automation_id(instance: InstanceRef) -> int:
    if isinstance(instance, int):
        return instance
    if isinstance(instance, AutomationModel):
        return instance.pk
    return instance.id


def paths(instance: InstanceRef) -> dict[str, list[str]]:
    """Return ``{path: [node names in visiting order]}`` of ``instance``, from its task rows.

    The main path is ``""``; a path of a ``Split`` is named as its tasks' ``path`` field.
    ``instance`` is an ``Automation`` object, an ``AutomationModel`` or an id.
    """
    result: dict[str, list[str]] = {}
    tasks = AutomationTaskModel.objects.filter(automation_id=_automation_id(instance)).order_by("pk")
    for name, task_path in tasks.values_list("status", "path"):
        result.setdefault(task_path, []).append(name)
    return result


def path(instance: InstanceRef) -> list[str]:
    """Return the names of the nodes ``instance`` visited, in order, across all its paths."""
    tasks = AutomationTaskModel.objects.filter(automation_id=_automation_id(instance)).order_by("pk")
    return list(tasks.values_list("status", flat=True))


def open_tasks(user: Any) -> list[AutomationTaskModel]:
    """Return the open form tasks ``user`` may process, oldest first, as their task list shows them."""
    return list(open_tasks_for(user))


def where(instance: InstanceRef) -> str:
    """Return a sentence saying where ``instance`` stands: waiting, finished or stopped."""
    automation_id = _automation_id(instance)
    row = AutomationModel.objects.filter(pk=automation_id).first()
    if row is None:
        return f"automation instance #{automation_id} does not exist"
    name = f"{row.automation_class.rpartition('.')[2]} #{row.pk}"
    visited = " → ".join(path(automation_id)) or "nothing yet"
    tasks = AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None).order_by("pk")
    waiting = [f"{task.status!r}" + (f" (path {task.path})" if task.path else "") for task in tasks]
    if row.error:
        state = f"stopped with the error {row.error!r}"
    elif row.status == row.Status.CANCELLED:
        state = "was cancelled"
    elif row.finished:
        state = "finished"
    elif waiting:
        state = "waits at " + ", ".join(waiting)
        if row.wake_at is not None:
            state += f", due {row.wake_at.isoformat()}"
    else:
        state = "has not started"
    return f"{name} {state}; it visited {visited}"


def assert_at(instance: InstanceRef, node_name: str) -> None:
    """Fail unless ``instance`` has an open task at ``node_name``, saying where it really is."""
    automation_id = _automation_id(instance)
    open_nodes = AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None)
    if not open_nodes.filter(status=node_name).exists():
        raise AssertionError(f"Expected the instance at {node_name!r}, but {where(automation_id)}.")
