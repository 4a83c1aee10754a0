"""Tasks, instances and startable automations as JSON objects, for the API and the websockets.

These functions return plain dicts of JSON values and need nothing but Django: the API's
serializers (:mod:`automations.api.serializers`) give their shape to the OpenAPI schema, and the
live sockets send the very same objects when a client asks for JSON (``?format=json``).
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

from automations import delegation, instance_actions
from automations.handover import is_snoozed
from automations.models import AutomationModel, Status
from automations.permissions import form_node_for
from automations.tasklist.inbox import is_assigned_to, task_summary, urgency
from automations.views.access import may_change_instances
from automations.views.error_summary import error_summary
from automations.views.instances import positions, timeline, verbose_name_of

from .form_schema import jsonable


def when(moment) -> str | None:
    """Return ``moment`` as an ISO 8601 string, or ``None``."""
    return moment.isoformat() if moment is not None else None


def page_url(name: str, *args: Any) -> str | None:
    """Return the HTML page ``automations:<name>`` for ``args``, or ``None`` if the project has none."""
    try:
        return reverse(f"automations:{name}", args=args)
    except NoReverseMatch:  # the project did not include automations.urls
        return None


def section(task, user, represented: set) -> str:
    """Return the inbox section of ``task`` for ``user``: ``snoozed``, ``mine`` or ``queue``.

    ``represented`` are the ids of the users ``user`` stands in for now.
    """
    if is_snoozed(task):
        return "snoozed"
    if is_assigned_to(task, user) or task.interaction_user_id in represented:
        return "mine"
    return "queue"


def task(task, user, represented: set | None = None) -> dict[str, Any]:
    """Return the open form task ``task`` as ``user`` sees it in their inbox.

    ``represented`` are the ids of the users ``user`` stands in for (read if not given).
    """
    node = form_node_for(task)
    if represented is None:
        represented = delegation.represented_by(user)
    holder = task.interaction_user if task.interaction_user_id is not None else None
    return {
        "id": task.pk,
        "instance": task.automation_id,
        "automation_class": task.automation.automation_class,
        "automation_name": verbose_name_of(task.automation.automation_class),
        "node": task.status,
        "description": str(getattr(node, "description", "") or ""),
        "summary": task_summary(task),
        "section": section(task, user, represented),
        "assigned_to": holder.get_username() if holder is not None else None,
        "snoozed_until": when(task.snoozed_until),
        "urgency": urgency(task),
        "created": when(task.created),
        "url": page_url("task", task.pk),
    }


def instance_summary(model: AutomationModel) -> dict[str, Any]:
    """Return one row of the instances list: the instance's class, status and times."""
    return {
        "id": model.pk,
        "automation_class": model.automation_class,
        "automation_name": verbose_name_of(model.automation_class),
        "status": model.status,
        "status_label": str(model.get_status_display()),
        "key": model.key or "",
        "created": when(model.created),
        "updated": when(model.updated),
        "finished": bool(model.finished),
        "url": page_url("instance", model.pk),
    }


def instance(model: AutomationModel, user) -> dict[str, Any]:
    """Return one instance for ``user``: its status, data, where it stands, its history, its actions."""
    may_change = may_change_instances(user)
    failure = instance_actions.failed_task(model) if model.error else None
    cancelled = None
    if model.status == Status.CANCELLED:
        cancelled = model.audit_entries.filter(action="cancel").last()
    return {
        **instance_summary(model),
        "data": jsonable(model.data),
        "wake_at": when(model.wake_at),
        "error": error_summary(model.error, failure) if model.error else "",
        "cancel_reason": cancelled.reason if cancelled is not None else "",
        "positions": [_position(entry) for entry in positions(model, user, None)],
        "history": [_history_row(row) for row in timeline(model, user)],
        "actions": [action.name for action in instance_actions.available(model)] if may_change else [],
    }


def _position(entry: dict) -> dict[str, Any]:
    may_process = entry["task_url"] is not None
    return {
        "task": entry["task"].pk,
        "node": entry["node"],
        "label": str(entry["label"].text),
        "description": str(entry["description"] or ""),
        "since": when(entry["task"].created),
        "path": entry["task"].path or "",
        "is_form": entry["is_form"],
        "may_process": may_process,
    }


def _history_row(row: dict) -> dict[str, Any]:
    entry = row["audit"]
    if entry is not None:
        return {
            "kind": "action",
            "at": when(entry.created),
            "action": entry.action,
            "user": entry.username,
            "reason": entry.reason,
            "node": None,
            "finished": None,
            "failed": False,
            "error": "",
        }
    task = row["task"]
    return {
        "kind": "node",
        "at": when(task.created),
        "action": None,
        "user": task.finished_by.get_username() if task.finished_by_id and task.finished_by else None,
        "reason": "",
        "node": task.status,
        "finished": when(task.finished),
        "failed": row["failed"],
        "error": str(row.get("summary") or ""),
    }


def startable(entry, form_schema: dict) -> dict[str, Any]:
    """Return one automation class a user may start (a ``StartEntry``), with its start form's schema."""
    return {
        "automation_class": entry.class_path,
        "name": entry.verbose_name,
        "description": entry.description,
        "form": form_schema,
    }


def delegation_row(row) -> dict[str, Any]:
    """Return a :class:`~automations.models.Delegation`: who stands in for whom, from when until when."""
    return {
        "id": row.pk,
        "user": row.user.get_username(),
        "substitute": row.substitute.get_username(),
        "starts": when(row.starts),
        "ends": when(row.ends),
        "created_by": row.created_by.get_username() if row.created_by_id and row.created_by else None,
    }
