"""The open tasks a user may process, as the task list plugin shows them."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from automations.models import AutomationTaskModel


def open_tasks_for(user) -> QuerySet:
    """Return the open tasks ``user`` may process, oldest first; none for anonymous users.

    A task is open while ``finished`` is empty and it waits for a person: it is assigned to a user, a
    group or permissions. A user may process it if every assignment holds (the user, one of their
    groups, all the permissions); superusers may process every one.
    """
    tasks = AutomationTaskModel.objects.filter(finished=None, automation__finished=False).select_related(
        "automation"
    )
    if user is None or not user.is_authenticated or not user.is_active:
        return tasks.none()
    assigned = (
        Q(interaction_user__isnull=False)
        | Q(interaction_group__isnull=False)
        | ~Q(interaction_permissions=[])
    )
    tasks = tasks.filter(assigned).order_by("created", "pk")
    if user.is_superuser:
        return tasks
    tasks = tasks.filter(Q(interaction_user=None) | Q(interaction_user=user))
    tasks = tasks.filter(Q(interaction_group=None) | Q(interaction_group__in=_group_ids(user)))
    allowed = [task.pk for task in tasks if all(user.has_perm(perm) for perm in task.interaction_permissions)]
    return (
        AutomationTaskModel.objects.filter(pk__in=allowed)
        .select_related("automation")
        .order_by("created", "pk")
    )


def _group_ids(user) -> list:
    groups = getattr(user, "groups", None)
    return list(groups.values_list("pk", flat=True)) if groups is not None else []
