"""Who may start which automation by hand: the ``Meta`` options of the start menu.

An automation class offers itself in the start menu (:mod:`automations.views.start`) by declaring
a start form in its own ``Meta``::

    class ExpenseApproval(flow.Automation):
        class Meta:
            verbose_name = "Expense approval"
            description = "Claim an expense; a manager approves it."
            start_form = ExpenseClaimForm
            start_groups = ["Employees"]
            start_user_key = "requester"

- ``start_form``: a Django form class; its cleaned data become the new instance's data.
- ``start_permissions``: ``"app_label.codename"`` permissions the user must all hold.
- ``start_groups``: names of groups; the user must be a member of at least one (``user.groups``).
- ``start_user_key``: the data key that receives the user who started the instance (by id).
- ``description``: what the menu says of the class; default the first line of its docstring.

Without ``start_permissions`` and ``start_groups`` every active, logged-in user may start the
class (the system check ``automations.W030`` says so); superusers may always start it. Only a
class's own ``Meta`` counts, as for ``verbose_name``. A class without ``start_form`` is not in the
menu.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from django import forms

START_OPTIONS = ("start_form", "start_permissions", "start_groups", "start_user_key")


@dataclass(frozen=True)
class StartDeclaration:
    """What a class's ``Meta`` says about starting it by hand."""

    form: type[forms.BaseForm]
    permissions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    user_key: str | None = None

    @property
    def is_restricted(self) -> bool:
        """Return whether only some users may start the class (permissions or groups given)."""
        return bool(self.permissions or self.groups)


class StartProblem(NamedTuple):
    """A wrong start option: ``(id, msg, hint, level)``, as a declaration problem has them."""

    id: str
    msg: str
    hint: str
    level: str = "error"


def own_meta_option(automation_class: type, name: str) -> Any:
    """Return ``Meta.<name>`` of the class's own ``Meta`` (with the bases of that ``Meta``), or ``None``."""
    meta = vars(automation_class).get("Meta")
    return getattr(meta, name, None) if meta is not None else None


def start_declaration(automation_class: type) -> StartDeclaration | None:
    """Return the start declaration of ``automation_class``, or ``None`` if it has no valid one."""
    if any(True for _ in start_problems(automation_class, errors_only=True)):
        return None
    form = own_meta_option(automation_class, "start_form")
    if form is None:
        return None
    return StartDeclaration(
        form=form,
        permissions=tuple(own_meta_option(automation_class, "start_permissions") or ()),
        groups=tuple(own_meta_option(automation_class, "start_groups") or ()),
        user_key=own_meta_option(automation_class, "start_user_key"),
    )


def description(automation_class: type) -> str:
    """Return ``Meta.description``, else the first line of the class's own docstring, else ``""``."""
    declared = own_meta_option(automation_class, "description")
    if declared:
        return str(declared)
    doc = (vars(automation_class).get("__doc__") or "").strip()
    return doc.splitlines()[0].strip() if doc else ""


# -- who may start --------------------------------------------------------------------------------


def may_start(user: Any, automation_class: type, *, group_names: set[str] | None = None) -> bool:
    """Return whether ``user`` may start ``automation_class`` from the start menu.

    ``group_names`` are the names of the user's groups, to save a query per class when checking
    many classes (see :func:`user_group_names`).
    """
    declaration = start_declaration(automation_class)
    if declaration is None or user is None:
        return False
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if declaration.permissions and not user.has_perms(declaration.permissions):
        return False
    if declaration.groups:
        names = user_group_names(user) if group_names is None else group_names
        return not names.isdisjoint(declaration.groups)
    return True


def user_group_names(user: Any) -> set[str]:
    """Return the names of the groups of ``user`` (``user.groups``; empty without such a relation)."""
    groups = getattr(user, "groups", None)
    if groups is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(groups.values_list("name", flat=True))


# -- the checks of the declaration ------------------------------------------------------------------


def start_problems(automation_class: type, *, errors_only: bool = False) -> Iterator[StartProblem]:
    """Yield what is wrong with the start options of ``automation_class`` (``automations.E030``-``W030``)."""
    name = automation_class.__name__
    form = own_meta_option(automation_class, "start_form")
    if form is not None and not _is_form_class(form):
        yield StartProblem(
            "automations.E030",
            f"{name}.Meta.start_form must be a Django form class, not {form!r}.",
            "Set start_form to a subclass of django.forms.Form (the class, not an instance).",
        )
    yield from _permission_problems(name, own_meta_option(automation_class, "start_permissions"))
    yield from _group_problems(name, own_meta_option(automation_class, "start_groups"))
    user_key = own_meta_option(automation_class, "start_user_key")
    if user_key is not None and not (isinstance(user_key, str) and user_key):
        yield StartProblem(
            "automations.E033",
            f"{name}.Meta.start_user_key must be a data key (a non-empty string), not {user_key!r}.",
            "Name the data key that receives the user who starts the instance, e.g. 'requester'.",
        )
    given = [option for option in START_OPTIONS[1:] if own_meta_option(automation_class, option) is not None]
    if form is None and given:
        yield StartProblem(
            "automations.E034",
            f"{name}.Meta sets {', '.join(given)} but no start_form, so nobody can start it from the menu.",
            "Add Meta.start_form (a Django form class, may be one without fields), or remove "
            f"{', '.join(given)}.",
        )
    restricted = own_meta_option(automation_class, "start_permissions") or own_meta_option(
        automation_class, "start_groups"
    )
    if not errors_only and _is_form_class(form) and not restricted:
        yield StartProblem(
            "automations.W030",
            f"{name}.Meta.start_form has no start_permissions or start_groups, so any logged-in user "
            "may start it.",
            "Set Meta.start_permissions or Meta.start_groups, or add 'automations.W030' to "
            "SILENCED_SYSTEM_CHECKS if every logged-in user is meant to start it.",
            level="warning",
        )


def _is_form_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, forms.BaseForm)


def _permission_problems(name: str, permissions: Any) -> Iterator[StartProblem]:
    if permissions is None:
        return
    valid = isinstance(permissions, list | tuple) and all(
        isinstance(permission, str) and permission.count(".") == 1 and "" not in permission.split(".")
        for permission in permissions
    )
    if not valid:
        yield StartProblem(
            "automations.E031",
            f"{name}.Meta.start_permissions must be a list of 'app_label.codename' strings, "
            f"not {permissions!r}.",
            "Write e.g. start_permissions = ['shop.add_order'] (a list, also for one permission).",
        )


def _group_problems(name: str, groups: Any) -> Iterator[StartProblem]:
    if groups is None:
        return
    if not (isinstance(groups, list | tuple) and all(isinstance(group, str) and group for group in groups)):
        yield StartProblem(
            "automations.E032",
            f"{name}.Meta.start_groups must be a list of group names, not {groups!r}.",
            "Write e.g. start_groups = ['Employees'] (a list, also for one group).",
        )
