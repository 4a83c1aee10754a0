"""Open form tasks: which task rows wait for a person, and which of them a user may process.

A task row does not know what kind of node opened it; the declarations do. Which ``(automation
class, node name)`` pairs are forms is read from the registry of declared automations, so finding
a user's open tasks costs a couple of queries however many other tasks wait.
"""

from __future__ import annotations

from django.db.models import F, Q

from automations import delegation, registry
from automations.models import AutomationTaskModel, Status
from automations.permissions import form_task_names, may_process, user_group_ids, uses_custom_permissions


def open_form_tasks():
    """Return every open task of a running instance that waits at a ``Form`` node."""
    condition = Q()
    for path, automation_class in registry.all_automations().items():
        names = form_task_names(automation_class)
        if names:
            condition |= Q(automation__automation_class=path, status__in=names)
    if not condition:
        return AutomationTaskModel.objects.none()
    return AutomationTaskModel.objects.filter(
        condition, finished=None, automation__status__in=Status.active()
    )


def open_tasks_for(user):
    """Return the open form tasks ``user`` may process: soonest deadline first, then oldest first.

    None for anonymous users.
    """
    allowed = [task.pk for task in open_task_list_for(user)]
    if not allowed:
        return AutomationTaskModel.objects.none()
    tasks = AutomationTaskModel.objects.filter(pk__in=allowed).select_related("automation")
    return tasks.order_by(F("deadline").asc(nulls_last=True), "created", "pk")


def open_task_list_for(user) -> list:
    """Return the open form tasks ``user`` may process as a list, oldest first (a query less)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    candidates = open_form_tasks().select_related("automation", "interaction_user").order_by("created", "pk")
    group_ids = None
    represented = delegation.represented_by(user)
    if not user.is_superuser:
        stood_in = Q(interaction_user__in=represented)  # a substitute's tasks: see automations.delegation
        candidates = candidates.filter(
            Q(interaction_user__isnull=True) | Q(interaction_user=user.pk) | stood_in
        )
        if not uses_custom_permissions():
            group_ids = user_group_ids(user)
            candidates = candidates.filter(
                Q(interaction_group__isnull=True) | Q(interaction_group__in=group_ids) | stood_in
            )
    return [
        task for task in candidates if may_process(user, task, group_ids=group_ids, represented=represented)
    ]
