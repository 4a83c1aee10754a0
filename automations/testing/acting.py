"""Acting as people and services in tests: messages, events and form submissions."""

from __future__ import annotations

from typing import Any

from django.test import RequestFactory

from automations import events
from automations.events import inbox
from automations.models import AutomationModel, AutomationTaskModel
from automations.permissions import form_node_for
from automations.views import TaskView

from .looking import InstanceRef, _automation_id, where

__all__ = ["publish", "send", "submit"]


def _instance(instance: InstanceRef) -> Any:
    if isinstance(instance, int | AutomationModel):
        row = instance if isinstance(instance, AutomationModel) else AutomationModel.objects.get(pk=instance)
        return row.instance
    return instance


def send(instance: InstanceRef, message: str, token: str | None = None, data: object = None) -> Any:
    """Send ``message`` to ``instance`` as ``dispatch_message`` does; return the receiver's result.

    The instance goes on at once, as far as it can without the clock moving.
    """
    return _instance(instance).send_message(message, token, data)


def publish(event: dict[str, Any]) -> str | None:
    """Handle ``event`` as a scheduler worker handles one it receives; return the inbox outcome.

    The event is given an id if it has none, validated (``InvalidEventError`` if it is not
    valid), stored in the inbox and applied: ``"applied"``, ``"rejected"`` or ``"failed"``.
    """
    return inbox.handle(events.validate(events.with_id(event)))


def _open_form_task(task_or_instance: AutomationTaskModel | InstanceRef) -> AutomationTaskModel:
    if isinstance(task_or_instance, AutomationTaskModel):
        return task_or_instance
    automation_id = _automation_id(task_or_instance)
    tasks = AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None).order_by("pk")
    forms = [task for task in tasks.select_related("automation") if form_node_for(task) is not None]
    if len(forms) != 1:
        count = "no open form task" if not forms else f"{len(forms)} open form tasks"
        raise AssertionError(f"Cannot submit: {where(automation_id)}, with {count}; pass the task.")
    return forms[0]


def submit(
    task_or_instance: AutomationTaskModel | InstanceRef,
    data: dict[str, Any],
    *,
    user: Any,
    files: dict[str, Any] | None = None,
) -> AutomationTaskModel:
    """Submit ``data`` to an open form task as ``user`` would, through the task view; return the task.

    ``task_or_instance`` is the task, or an instance with exactly one open form task. The task
    view's own permission checks and form validation run: a user who may not process the task,
    an invalid form or a task closed meanwhile fail with an ``AssertionError`` that says why
    (the form's errors). On success the instance has gone on as after a real submission.
    """
    task = _open_form_task(task_or_instance)
    request = RequestFactory().post(f"/tasks/{task.pk}/", data={**data, **(files or {}), "next": "/"})
    request.user = user
    response = TaskView.as_view()(request, task_id=task.pk)
    if response.status_code == 404:  # the 404 page, or the page of a closed task
        context = getattr(response, "context_data", None) or {}
        reason = context.get("message") or context.get("description") or "not found"
        raise AssertionError(f"{user} may not process task #{task.pk} ({task.status!r}): {reason}")
    if response.status_code != 302:
        form = response.context_data["form"] if hasattr(response, "context_data") else None
        errors = form.errors.get_json_data() if form is not None else response.status_code
        raise AssertionError(f"The form of task #{task.pk} ({task.status!r}) was refused: {errors}")
    task.refresh_from_db()
    if task.finished is None:  # a redirect that took nothing: to the login page, for one
        raise AssertionError(
            f"The task view sent {user} to {response['Location']} without taking the form of task #{task.pk} "
            f"({task.status!r}); {where(task.automation_id)}."
        )
    return task
