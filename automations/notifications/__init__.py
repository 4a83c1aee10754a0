"""Telling people when it matters: a task for them or their group, an instance of theirs that stopped.

What is told, and to whom:

- ``task_assigned``: a form task opens (or is handed over, :func:`automations.handover.reassign`)
  assigned to a user (and their substitute, :mod:`automations.delegation`) or to a group (its
  members). Tasks open to anybody or to a permission tell nobody.
- ``instance_finished``, ``instance_failed``: an instance stopped; told to the user who started it,
  if its class keeps that user (``Meta.start_user_key``).
- ``deadline_approaching``: an open form task's deadline comes within
  ``ATM_NOTIFY_DEADLINE_AHEAD`` seconds; told once per task by the sweeps
  (:mod:`automations.notifications.reminders`), to those ``task_assigned`` tells.
- ``deadline_passed``: a form task's ``.Deadline()`` route was taken; told by the step that took it.
  :func:`deadline` tells either, for a project that decides on its own.

Each :class:`Notification` goes to every notifier of ``ATM_NOTIFIERS`` (see
:mod:`automations.notifications.base`), after the transaction commits, on a thread of its own
(:mod:`automations.notifications.delivery`): sending never blocks or breaks a step; it is retried
and a failure is logged. A user opts out of a kind of notification, or of all (``"*"``), with a
:class:`~automations.models.NotificationOptOut` row (see :func:`opt_out`, :func:`opt_in` and
:func:`opted_out`; users do it on their settings page, ``automations:my_settings``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from automations import delegation, registry
from automations import settings as atm_settings
from automations.flow.deadlines import EXPIRED
from automations.models import NotificationOptOut
from automations.permissions import form_node_for
from automations.starting import own_meta_option
from automations.tasklist.inbox import task_summary

from . import delivery
from .base import configured

logger = logging.getLogger("automations.notifications")

TASK_ASSIGNED = "task_assigned"
INSTANCE_FINISHED = "instance_finished"
INSTANCE_FAILED = "instance_failed"
DEADLINE_APPROACHING = "deadline_approaching"
DEADLINE_PASSED = "deadline_passed"
KINDS = (TASK_ASSIGNED, INSTANCE_FINISHED, INSTANCE_FAILED, DEADLINE_APPROACHING, DEADLINE_PASSED)
LABELS = {
    TASK_ASSIGNED: _("A task is assigned to me or to my group"),
    DEADLINE_APPROACHING: _("The deadline of a task of mine approaches"),
    DEADLINE_PASSED: _("The deadline of a task of mine has passed"),
    INSTANCE_FINISHED: _("An automation I started finished"),
    INSTANCE_FAILED: _("An automation I started failed"),
}

__all__ = [
    "KINDS",
    "LABELS",
    "Notification",
    "after_step",
    "deadline",
    "instance_stopped",
    "notify",
    "opt_in",
    "opt_out",
    "opted_out",
    "task_assigned",
]


@dataclass(frozen=True)
class Notification:
    """One thing to tell one user: its ``kind``, who (id, user name, e-mail) and what (``context``).

    ``context`` holds JSON values only (ids, names, a link), so that notifiers need no database.
    """

    kind: str
    user_id: int
    username: str
    email: str
    context: dict[str, Any] = field(default_factory=dict)


def notify(kind: str, users, **context: Any) -> list[Notification]:
    """Tell ``users`` (users or ids) of ``kind`` with ``context`` once the transaction commits.

    Users who opted out, inactive ones and duplicates are left out; return what will be sent.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}; use one of {', '.join(KINDS)}.")
    ids = {getattr(user, "pk", user) for user in users} - {None}
    if not ids or not configured():  # ATM_NOTIFIERS = []: nobody is told, nothing is looked up
        return []
    refused = NotificationOptOut.objects.filter(user__in=ids, kind__in=[kind, NotificationOptOut.ANY])
    ids -= set(refused.values_list("user_id", flat=True))
    people = get_user_model()._default_manager.filter(pk__in=ids, is_active=True).order_by("pk")
    notifications = [
        Notification(kind, person.pk, person.get_username(), getattr(person, "email", "") or "", context)
        for person in people
    ]
    if notifications:
        transaction.on_commit(lambda: delivery.send(notifications))
    return notifications


def opt_out(user, kind: str = NotificationOptOut.ANY) -> None:
    """Stop telling ``user`` of ``kind`` (default: of anything)."""
    if kind != NotificationOptOut.ANY and kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}; use one of {', '.join(KINDS)}.")
    NotificationOptOut.objects.get_or_create(user_id=getattr(user, "pk", user), kind=kind)


def opt_in(user, kind: str = NotificationOptOut.ANY) -> None:
    """Tell ``user`` of ``kind`` again (default: of everything, dropping every opt-out).

    A user who opted out of everything and opts in to one kind stays opted out of the others.
    """
    if kind != NotificationOptOut.ANY and kind not in KINDS:
        raise ValueError(f"Unknown notification kind {kind!r}; use one of {', '.join(KINDS)}.")
    rows = NotificationOptOut.objects.filter(user_id=getattr(user, "pk", user))
    with transaction.atomic():
        if kind == NotificationOptOut.ANY:
            rows.delete()
            return
        if rows.filter(kind=NotificationOptOut.ANY).delete()[0]:
            for other in KINDS:
                if other != kind:
                    opt_out(user, other)
        rows.filter(kind=kind).delete()


def opted_out(user) -> set[str]:
    """Return the kinds of notification ``user`` is not told of (all of :data:`KINDS` for ``"*"``)."""
    kinds = set(
        NotificationOptOut.objects.filter(user_id=getattr(user, "pk", user)).values_list("kind", flat=True)
    )
    return set(KINDS) if NotificationOptOut.ANY in kinds else kinds & set(KINDS)


# -- what is told -------------------------------------------------------------------------------


def task_assigned(task, kind: str = TASK_ASSIGNED) -> list[Notification]:
    """Tell the user or the group members ``task`` is assigned to (and substitutes) that it waits."""
    if task.interaction_user_id is not None:
        users = {task.interaction_user_id} | delegation.substitutes_of([task.interaction_user_id])
    elif task.interaction_group_id is not None:
        users = set(task.get_users_with_permission(include_superusers=False).values_list("pk", flat=True))
    else:
        return []
    return notify(kind, users, **task_context(task))


def deadline(task, *, passed: bool) -> list[Notification]:
    """Tell those ``task`` waits for that its deadline approaches (or, ``passed``, has passed).

    The sweeps call it for approaching deadlines (:mod:`.reminders`), the engine's hook for passed
    ones; a project may call it for deadlines of its own.
    """
    return task_assigned(task, DEADLINE_PASSED if passed else DEADLINE_APPROACHING)


def instance_stopped(automation, *, failed: bool, error: str = "") -> list[Notification]:
    """Tell the user who started ``automation`` (a ``flow.Automation`` object) that it finished or failed.

    The starter is the user id under the class's ``Meta.start_user_key`` in its data; a class
    without that option tells nobody (and costs no query).
    """
    automation_class = type(automation)
    key = own_meta_option(automation_class, "start_user_key")
    starter = automation.data.get(key) if key else None
    if not isinstance(starter, int) or isinstance(starter, bool):
        return []
    context = {
        "automation": automation.id,
        "automation_class": registry.class_path(automation_class),
        "verbose_name": str(automation_class.get_verbose_name()),
        "url": _link("automations:instance", automation.id),
        "error": error.splitlines()[0][:200] if error else "",
    }
    return notify(INSTANCE_FAILED if failed else INSTANCE_FINISHED, [starter], **context)


def after_step(report) -> None:
    """After a step committed: tell of the assigned form tasks it opened, of form tasks whose
    deadline passed, and of the instance stopping.

    An engine hook (see ``engine.hooks``); it only reads rows and schedules what to send.
    """
    for task in report.opened:
        if task.pk is not None and (task.interaction_user_id or task.interaction_group_id):
            if form_node_for(task) is not None:
                task_assigned(task)
    for task in report.closed:
        if task.message == EXPIRED and form_node_for(task) is not None:
            deadline(task, passed=True)  # a form nobody filled in before its .Deadline()
    if report.result.finished or report.result.error:
        instance_stopped(report.automation, failed=bool(report.result.error), error=report.result.error)


def task_context(task) -> dict[str, Any]:
    """Return what a notification says of ``task``: ids, node, summary, automation and link."""
    return {
        "task": task.pk,
        "node": task.status,
        "summary": task_summary(task),
        "automation": task.automation_id,
        "automation_class": task.automation.automation_class,
        "url": _link("automations:task", task.pk),
    }


def _link(name: str, pk: int) -> str:
    try:
        path = reverse(name, args=[pk])
    except NoReverseMatch:  # the project did not include automations.urls
        return ""
    return atm_settings.get("ATM_SITE_URL").rstrip("/") + path
