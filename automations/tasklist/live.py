"""Tell open task-list websockets that a user's tasks changed.

Every task-list socket (:mod:`consumers.task_list`) listens on the channel-layer group of its user and
on one group for tasks anybody may process. When a form task opens, finishes, is reassigned, or
its instance stops or is deleted, the users who may process it are told once the transaction
commits; each socket then sends its user's list again, computed for that user alone. While the
engine runs a step nothing is looked up: the receivers only register what to do after the commit.

Changes to group memberships or permissions refresh the user concerned, or every open list when
a group's or a permission's side changed. A logout refreshes the user's lists, so that the socket
of the ended session notices at once and closes (Django ends the session just after the signal, so
the lists are told again when the request has finished). Projects that change who may process a task in ways
these receivers do not see (a custom group model's memberships, say) call :func:`notify_users`.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import channels.layers
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_out
from django.core.signals import request_finished
from django.db import transaction
from django.db.models.signals import m2m_changed, post_init, post_save, pre_delete

from automations import delegation
from automations.logsafe import shown
from automations.models import AutomationModel, AutomationTaskModel
from automations.permissions import form_node_for, form_nodes, is_unassigned

logger = logging.getLogger("automations.live")

EVERYONE_GROUP = "automations.tasks.everyone"
EVENT_TYPE = "tasks.changed"
_in_flight: set = set()
ASSIGNMENT_ATTRIBUTES = ("interaction_user_id", "interaction_group_id", "interaction_permissions")


def user_group(user_id) -> str:
    """Return the channel-layer group of ``user_id``'s task-list sockets."""
    return f"automations.tasks.user.{int(user_id)}"


def notify_users(user_ids=(), *, everyone: bool = False) -> None:
    """Ask the task-list sockets of ``user_ids`` (and of everybody, if ``everyone``) to refresh."""
    groups = {user_group(pk) for pk in user_ids if pk is not None}
    if everyone:
        groups.add(EVERYONE_GROUP)
    if not groups:
        return
    layer = channels.layers.get_channel_layer()
    if layer is None:
        return
    ordered = sorted(groups)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        async_to_sync(_send)(layer, ordered)
    else:  # called from code running on an event loop: cannot block it, so send alongside
        task = loop.create_task(_send(layer, ordered))
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)


async def _send(layer, groups):
    results = await asyncio.gather(
        *(layer.group_send(group, {"type": EVENT_TYPE}) for group in groups), return_exceptions=True
    )
    for group, result in zip(groups, results, strict=True):
        if isinstance(result, Exception):  # a lost hint only leaves a list stale; never break the caller
            logger.error("Could not notify the task lists of group %s: %s", group, shown(result))


def recipients(task, node=None) -> tuple[set, bool]:
    """Return ``(user_ids, everyone)``: who may process ``task`` according to its assignment."""
    node = node if node is not None else form_node_for(task)
    if is_unassigned(task, node):
        return set(), True
    user_ids = set(task.get_users_with_permission(include_superusers=True).values_list("pk", flat=True))
    return user_ids | delegation.substitutes_of([task.interaction_user_id]), False


def notify_task(task, *, previous=None) -> None:
    """Refresh the lists of everybody who may process ``task`` (and ``previous``, its former assignment)."""
    user_ids, everyone = recipients(task)
    if previous is not None:
        more, anybody = recipients(previous)
        user_ids, everyone = user_ids | more, everyone or anybody
    notify_users(user_ids, everyone=everyone)


# -- receivers ----------------------------------------------------------------------------------


def _assignment(task):
    return task.interaction_user_id, task.interaction_group_id, tuple(task.interaction_permissions or ())


def _is_form_task(task) -> bool:
    return task.automation_id is not None and form_node_for(task) is not None


def _remember_assignment(sender, instance, **kwargs):
    loaded = instance.__dict__
    if all(name in loaded for name in ASSIGNMENT_ATTRIBUTES):
        instance._atm_assignment = _assignment(instance)
    else:
        instance._atm_assignment = None  # deferred fields: never load them just for this


def _task_saved(sender, instance, created, raw=False, **kwargs):
    if raw or not _is_form_task(instance):
        return
    before, now = getattr(instance, "_atm_assignment", None), _assignment(instance)
    previous = None
    if not created and before is not None and before != now:
        previous = AutomationTaskModel(
            pk=instance.pk,
            automation=instance.automation,
            status=instance.status,
            interaction_user_id=before[0],
            interaction_group_id=before[1],
            interaction_permissions=list(before[2]),
        )
    instance._atm_assignment = now
    transaction.on_commit(lambda: notify_task(instance, previous=previous))


def _instance_changed(automation_id):
    """After the commit, refresh the lists of an instance's form tasks that were open until now."""

    def notify():
        tasks = AutomationTaskModel.objects.filter(automation_id=automation_id).select_related("automation")
        for task in tasks:
            if (task.finished is None or task.message == "ended") and _is_form_task(task):
                notify_task(task)

    transaction.on_commit(notify)


def after_step(report) -> None:
    """After a step committed: refresh the lists of the form tasks it opened or closed, and of all
    the instance's form tasks if it finished or stopped (an engine hook, see ``engine.hooks``)."""
    automation_class = type(report.automation)
    if not form_nodes(automation_class):
        return
    seen = set()
    for task in (*report.opened, *report.closed):
        if task.pk is not None and task.pk not in seen and _is_form_task(task):
            seen.add(task.pk)
            task._atm_assignment = _assignment(task)
            notify_task(task)
    if report.result.finished or report.result.error:
        _instance_changed(report.automation.id)


def _automation_deleted(sender, instance, **kwargs):
    if instance.finished:
        return  # a finished instance has no open tasks
    try:
        automation_class = instance.get_automation_class()
    except LookupError:
        return
    if not form_nodes(automation_class):
        return
    user_ids, everyone = set(), False
    for task in AutomationTaskModel.objects.filter(automation=instance, finished=None):
        task.automation = instance
        if _is_form_task(task):  # read now: after the delete the rows are gone
            ids, anybody = recipients(task)
            user_ids, everyone = user_ids | ids, everyone or anybody
    transaction.on_commit(lambda: notify_users(user_ids, everyone=everyone))


def _memberships_changed(sender, instance, action, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, get_user_model()):
        user_id = instance.pk
        transaction.on_commit(lambda: notify_users([user_id]))
    else:  # a group's members or permissions, or a permission's holders: rare, refresh every list
        transaction.on_commit(lambda: notify_users(everyone=True))


_logouts = threading.local()


def _logged_out(sender, request=None, user=None, **kwargs):
    if user is None or user.pk is None:
        return
    notify_users([user.pk])
    pending = getattr(_logouts, "user_ids", None)
    if pending is None:
        pending = _logouts.user_ids = set()
    pending.add(user.pk)


def _request_finished(sender, **kwargs):
    pending = getattr(_logouts, "user_ids", None)
    if pending:
        _logouts.user_ids = None
        notify_users(pending)


def connect_receivers():
    """Connect the receivers that notice task changes outside the engine (called by the app config).

    The engine's own writes are followed by :func:`after_step`, which the app config registers as
    an engine hook.
    """
    uid = "automations.live."
    post_init.connect(_remember_assignment, sender=AutomationTaskModel, dispatch_uid=uid + "init")
    post_save.connect(_task_saved, sender=AutomationTaskModel, dispatch_uid=uid + "saved")
    pre_delete.connect(_automation_deleted, sender=AutomationModel, dispatch_uid=uid + "deleted")
    user_logged_out.connect(_logged_out, dispatch_uid=uid + "logged_out")
    request_finished.connect(_request_finished, dispatch_uid=uid + "request_finished")
    user_model = get_user_model()
    relations = (getattr(user_model, name, None) for name in ("groups", "user_permissions"))
    throughs = [getattr(relation, "through", None) for relation in relations]
    throughs.append(Group.permissions.through)
    for through in filter(None, throughs):
        m2m_changed.connect(_memberships_changed, sender=through, dispatch_uid=f"{uid}{through._meta.label}")
