"""Who may process a form task: assignment, groups, permissions, and their settings.

A ``Form`` node may be assigned with ``.User(**selector)``, ``.Group(**selector)`` and
``.Permission("app_label.codename")``; every requirement given must hold, superusers may always
process, and a form with none of them may be processed by any active, logged-in user.

Projects with their own group model or permission scheme set all three of
``ATM_GROUP_MODEL``, ``ATM_USER_WITH_PERMISSIONS_FORM_METHOD`` and
``ATM_USER_WITH_PERMISSIONS_MODEL_METHOD`` (or none of them): the two methods then decide which
users hold the assignment.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model, load_backend
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from automations import delegation, registry
from automations import settings as atm_settings

CUSTOM_SETTINGS = (
    "ATM_GROUP_MODEL",
    "ATM_USER_WITH_PERMISSIONS_FORM_METHOD",
    "ATM_USER_WITH_PERMISSIONS_MODEL_METHOD",
)


# -- form nodes ----------------------------------------------------------------------------------


def form_nodes(automation_class) -> dict:
    """Return the ``Form`` nodes of ``automation_class`` by name."""
    return {name: node for name, node in automation_class._nodes.items() if node.opens_form_tasks}


def form_task_names(automation_class) -> list[str]:
    """Return the node names an open form task of ``automation_class`` may store: its ``Form`` nodes'
    names, and the old names ``Meta.renamed_nodes`` gives them (until a step renames the task)."""
    names = list(form_nodes(automation_class))
    renamed = getattr(automation_class, "_renamed_nodes", {})
    return names + [old for old in renamed if registry.node_name(automation_class, old) in names]


def form_node_for(task):
    """Return the declared ``Form`` node that opened ``task``, or ``None`` if it is not a form task."""
    try:
        automation_class = registry.get(task.automation.automation_class)
    except registry.UnknownAutomationError:
        return None
    name = registry.node_name(automation_class, task.status)  # a renamed form before the rename's step
    node = automation_class._nodes.get(name) if name is not None else None
    return node if getattr(node, "opens_form_tasks", False) else None


# -- settings ---------------------------------------------------------------------------------


def custom_settings_problem() -> str | None:
    """Return why the non-standard group settings are inconsistent, or ``None`` if they are not."""
    given = [name for name in CUSTOM_SETTINGS if hasattr(settings, name)]
    if not given or len(given) == len(CUSTOM_SETTINGS):
        return None
    missing = [name for name in CUSTOM_SETTINGS if name not in given]
    return (
        f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} set but {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not: set all of {', '.join(CUSTOM_SETTINGS)} or none."
    )


def uses_custom_permissions() -> bool:
    """Return whether the project replaces groups and permissions.

    Raise ``ImproperlyConfigured`` if only one or two of the three settings are set.
    """
    problem = custom_settings_problem()
    if problem:
        raise ImproperlyConfigured(problem)
    return hasattr(settings, CUSTOM_SETTINGS[0])


def group_model():
    """Return the model of ``.Group()`` assignments (``ATM_GROUP_MODEL``, default ``auth.Group``)."""
    custom = uses_custom_permissions()
    label = atm_settings.get("ATM_GROUP_MODEL") if custom else atm_settings.DEFAULTS["ATM_GROUP_MODEL"]
    try:
        return apps.get_model(label, require_ready=False)
    except (LookupError, ValueError) as exc:
        message = f"ATM_GROUP_MODEL refers to '{label}', which is not a model: {exc}"
        raise ImproperlyConfigured(message) from exc


def custom_method(setting: str):
    """Return the callable a ``ATM_USER_WITH_PERMISSIONS_*`` setting names, or ``None`` by default."""
    if not uses_custom_permissions():
        return None
    path = atm_settings.get(setting)
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting} = {path!r} cannot be imported: {exc}") from exc


# -- users holding an assignment --------------------------------------------------------------


def form_users_with_permission(node):
    """Return the users that may process forms of ``node`` (``Form.get_users_with_permission``)."""
    method = custom_method("ATM_USER_WITH_PERMISSIONS_FORM_METHOD")
    if method is not None:
        return method(node)
    user_model = get_user_model()
    users = user_model._default_manager.filter(is_active=True)
    backend = _permission_backend(None)
    for permission in node._permissions:
        users &= user_model._default_manager.with_perm(permission, include_superusers=False, backend=backend)
    if node._user is not None:
        users = users.filter(**node.resolve_selector(node._user, None))
    if node._group is not None:
        groups = group_model()._default_manager.filter(**node.resolve_selector(node._group, None))
        users = users.filter(groups__in=groups)
    return users.distinct()


def task_users_with_permission(task, include_superusers=True, backend=None):
    """Return the users that may process ``task`` (``AutomationTaskModel.get_users_with_permission``)."""
    method = custom_method("ATM_USER_WITH_PERMISSIONS_MODEL_METHOD")
    if method is not None:
        return method(task, include_superusers=include_superusers, backend=backend)
    user_model = get_user_model()
    manager = user_model._default_manager
    backend = _permission_backend(backend)
    needs_user, needs_group, permissions = requirements(task, form_node_for(task))
    users = manager.filter(is_active=True)
    for permission in sorted(permissions):
        users &= manager.with_perm(permission, include_superusers=False, backend=backend)
    if task.interaction_user_id is not None:
        users = users.filter(pk=task.interaction_user_id)
    if task.interaction_group_id is not None:
        users = users.filter(groups=task.interaction_group_id)
    user_gone = needs_user and task.interaction_user_id is None
    group_gone = needs_group and task.interaction_group_id is None
    if user_gone or group_gone:
        users = manager.none()  # the declared user or group is gone: nobody but the superusers
    if include_superusers:
        users |= manager.filter(is_superuser=True, is_active=True)
    return users.distinct()


def _permission_backend(backend):
    """Return a backend path for ``with_perm``: ``backend``, else the first configured one that has it."""
    if backend is not None:
        return backend
    for path in settings.AUTHENTICATION_BACKENDS:
        if hasattr(load_backend(path), "with_perm"):
            return path
    return settings.AUTHENTICATION_BACKENDS[0]


# -- one user, one task -----------------------------------------------------------------------


def requirements(task, node) -> tuple[bool, bool, frozenset]:
    """Return ``(needs_user, needs_group, permissions)`` from the declaration and the task row together.

    A requirement that the node declares holds even when the task row lost its value (say, the
    assigned user was deleted): such a task is then nobody's but the superusers'.
    """
    needs_user = task.interaction_user_id is not None or (node is not None and node._user is not None)
    needs_group = task.interaction_group_id is not None or (node is not None and node._group is not None)
    permissions = set(task.interaction_permissions or ())
    if node is not None:
        permissions.update(node._permissions)
    return needs_user, needs_group, frozenset(permissions)


def is_unassigned(task, node) -> bool:
    """Return whether any active, logged-in user may process ``task`` (no user, group or permission)."""
    needs_user, needs_group, permissions = requirements(task, node)
    return not (needs_user or needs_group or permissions)


def may_process(user, task, *, node=None, group_ids=None, represented=None) -> bool:
    """Return whether ``user`` may process the open form task ``task`` now.

    ``node`` is the task's declared ``Form`` node (looked up if not given); ``group_ids`` are the
    ids of the user's groups, to save a query per task when checking many tasks. A substitute
    (:mod:`automations.delegation`) may process what the user they stand in for may process, of
    the tasks assigned to that user personally; ``represented`` are the ids of those users, to
    save a query per task too.
    """
    if may_process_self(user, task, node=node, group_ids=group_ids):
        return True
    if task.interaction_user_id is None or not getattr(user, "is_active", False):
        return False
    if represented is None:
        represented = delegation.represented_by(user)
    if task.interaction_user_id not in represented:
        return False
    absent = get_user_model()._default_manager.filter(pk=task.interaction_user_id).first()
    return absent is not None and may_process_self(absent, task, node=node)


def may_process_self(user, task, *, node=None, group_ids=None) -> bool:
    """Return whether ``user`` may process ``task`` in their own right (substitutions left out)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if task.pk is None or task.finished is not None:
        return False
    automation = task.automation
    if not automation.is_active:
        return False
    node = node if node is not None else form_node_for(task)
    if node is None:
        return False
    if user.is_superuser:
        return True
    needs_user, needs_group, permissions = requirements(task, node)
    if needs_user and (task.interaction_user_id is None or task.interaction_user_id != user.pk):
        return False
    if needs_group and task.interaction_group_id is None:
        return False
    if uses_custom_permissions():
        if is_unassigned(task, node):
            return True
        return task.get_users_with_permission(include_superusers=False).filter(pk=user.pk).exists()
    if needs_group:
        if group_ids is None:
            group_ids = user_group_ids(user)
        if task.interaction_group_id not in group_ids:
            return False
    return not permissions or user.has_perms(permissions)


def user_group_ids(user) -> set:
    """Return the ids of the ``auth.Group`` groups ``user`` belongs to (empty for custom group models)."""
    if uses_custom_permissions() or not hasattr(user, "groups"):
        return set()
    return set(user.groups.values_list("pk", flat=True))
