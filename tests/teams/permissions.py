"""The project's own answers to "who may process this form": team members, not auth groups."""

from django.contrib.auth import get_user_model

from .models import Team


def form_users(node):
    """Return the users who may process forms of ``node`` (``ATM_USER_WITH_PERMISSIONS_FORM_METHOD``)."""
    users = get_user_model().objects.filter(is_active=True)
    if node._user is not None:
        users = users.filter(**node._user)
    if node._group is not None:
        users = users.filter(teams__in=Team.objects.filter(**node._group))
    return users.distinct()


def task_users(task, include_superusers=True, backend=None):
    """Return the users who may process ``task`` (``ATM_USER_WITH_PERMISSIONS_MODEL_METHOD``)."""
    user_model = get_user_model()
    users = user_model.objects.filter(is_active=True)
    for permission in task.interaction_permissions:
        users &= user_model.objects.with_perm(permission, include_superusers=False, backend=backend)
    if task.interaction_user_id is not None:
        users = users.filter(pk=task.interaction_user_id)
    if task.interaction_group_id is not None:
        users = users.filter(teams=task.interaction_group_id)
    if include_superusers:
        users |= user_model.objects.filter(is_superuser=True, is_active=True)
    return users.distinct()
