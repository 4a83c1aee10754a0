"""Nodes that wait for a person: ``Form`` and ``ModelForm``.

A form node opens a task and the instance waits. The task view (:mod:`automations.views`) shows
the form to the users who may process the task; a valid submission reaches the node through the
engine (``engine.advance(..., submission=...)``), which finishes the task with the cleaned data and
lets the instance continue at once.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from django import forms as django_forms
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils.functional import Promise

from automations import settings as atm_settings
from automations.logsafe import shown
from automations.outcomes import PERSON, Outcome, Proceed, Submission, Visit, Wait
from automations.permissions import form_users_with_permission, group_model, may_process

from .nodes import Node
from .references import Reference

logger = logging.getLogger("automations.forms")

DEFAULT_TEMPLATE_NAME = "automations/form_view.html"


class Form(Node):
    """Wait for a person to fill in a Django form.

    ``form`` is a :class:`django.forms.Form` subclass. The task is shown with ``template_name``,
    else the automation's ``default_template_name``, else ``automations/form_view.html``; the
    template context is ``ATM_FORM_VIEW_CONTEXT``, updated by the automation's ``context`` and then
    by this node's ``context``. After a valid submission the user is sent to ``success_url`` (a
    path or a URL name), else to their task list. ``description`` tells the user what to do.

    Assign the task with ``.User(**selector)``, ``.Group(**selector)`` and
    ``.Permission("app_label.codename")``; all that are given must hold, and superusers may always
    process the form. **A form with none of them may be processed by any logged-in user.**

    The cleaned data is stored as the task's ``result`` and in the instance's ``data`` under the
    node's name::

        approve = flow.Form(ApprovalForm, description="Approve the expense").Group(name="Managers")
        decide = flow.If(lambda task: task.data["approve"]["approved"]).Then(this.pay).Else(this.reject)
    """

    opens_form_tasks = True

    def __init__(
        self,
        form: type[django_forms.BaseForm],
        template_name: str | None = None,
        success_url: str | None = None,
        description: str | Promise = "",
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(description=description)
        if not (isinstance(form, type) and issubclass(form, django_forms.BaseForm)):
            raise TypeError(f"{type(self).__name__}() needs a Django form class, got {form!r}.")
        self._form = form
        self.template_name = template_name
        self.success_url = success_url
        self.context = dict(context or {})
        self._user: dict[str, Any] | None = None
        self._group: dict[str, Any] | None = None
        self._permissions: tuple[str, ...] = ()

    # -- modifiers --------------------------------------------------------------------------

    def User(self, **selector: Any) -> Self:  # noqa: N802
        """Assign the form to the one user matching ``selector``, e.g. ``.User(username="ada")``.

        Values may be callables (or ``this.method``) taking the task, evaluated when the task opens.
        """
        if not selector:
            raise TypeError("Form.User() needs a selector, e.g. .User(username='ada').")
        self._user = dict(selector)
        return self

    def Group(self, **selector: Any) -> Self:  # noqa: N802
        """Assign the form to the members of the group matching ``selector``: ``.Group(name="Managers")``."""
        if not selector:
            raise TypeError("Form.Group() needs a selector, e.g. .Group(name='Managers').")
        self._group = dict(selector)
        return self

    def Permission(self, permission: str) -> Self:  # noqa: N802
        """Require the permission ``"app_label.codename"``; repeat the modifier to require several."""
        if not isinstance(permission, str) or permission.count(".") != 1 or permission.startswith("."):
            raise ValueError(
                f"Form.Permission() takes 'app_label.codename', e.g. 'shop.change_order'; got {permission!r}."
            )
        self._permissions = (*self._permissions, permission)
        return self

    # -- what the views use -----------------------------------------------------------------

    @property
    def form_class(self) -> type[django_forms.BaseForm]:
        """The Django form class of this node."""
        return self._form

    def is_assigned(self) -> bool:
        """Return whether the form is restricted by ``.User()``, ``.Group()`` or ``.Permission()``."""
        return bool(self._user or self._group or self._permissions)

    def get_form_kwargs(self, task: Any) -> dict[str, Any]:
        """Return extra keyword arguments for the form class (``ModelForm`` adds its instance)."""
        return {}

    def get_template_names(self) -> list[str]:
        """Return the templates to try: the node's, the automation's default, the package's."""
        automation_default = getattr(self._automation or self._owner, "default_template_name", None)
        names = [self.template_name, automation_default, DEFAULT_TEMPLATE_NAME]
        return [name for name in names if name]

    def get_context(self) -> dict[str, Any]:
        """Return the template context: ``ATM_FORM_VIEW_CONTEXT``, the automation's, then the node's."""
        automation_context = getattr(self._automation or self._owner, "context", None) or {}
        return {**atm_settings.get("ATM_FORM_VIEW_CONTEXT"), **automation_context, **self.context}

    def get_users_with_permission(self) -> models.QuerySet[Any]:
        """Return the users who may process this form (see ``ATM_USER_WITH_PERMISSIONS_FORM_METHOD``)."""
        return form_users_with_permission(self)

    def resolve_selector(self, selector: dict[str, Any], task: Any) -> dict[str, Any]:
        """Return ``selector`` with callables and references evaluated for ``task``.

        Without a task (``task=None``) a selector that needs one raises ``TypeError``.
        """
        resolved = {}
        for key, value in selector.items():
            # Plain strings are values (a group may well be named like a node); only this.name,
            # "self.name" and callables refer to something.
            if isinstance(value, Reference) or callable(value) or str(value).startswith("self."):
                value = self.resolve(value)
            if callable(value):
                if task is None:
                    raise TypeError(
                        f"{self!r}: the selector {key}= depends on the task; ask a task's "
                        "get_users_with_permission() instead."
                    )
                value = value(task)
            resolved[key] = value
        return resolved

    # -- running ----------------------------------------------------------------------------

    def enter(self, visit: Visit) -> Outcome:
        submission = visit.submission
        if submission is not None and not submission.consumed:
            if may_process(submission.user, visit.task, node=self):
                with transaction.atomic():
                    result = self.accept(submission)
                submission.consumed = True
                return Proceed(result=result)
            logger.warning(
                "Submission for task %s by %s refused: not theirs.", visit.task.pk, shown(submission.user)
            )
        self._assign(visit.task)
        return Wait(until=None, awaits=PERSON)

    def accept(self, submission: Submission) -> Any:
        """Take a valid submission: apply it and store its result in the instance's data; return it."""
        if submission.apply is not None:
            submission.apply()
        self.data[self._declared_name()] = submission.result
        return submission.result

    def _assign(self, task: Any) -> None:
        """Put the assignment on the task row (the engine saves a new row; an existing one is saved here)."""
        if not self.is_assigned():
            return
        if task.pk is not None and (
            task.interaction_user_id is not None
            or task.interaction_group_id is not None
            or task.interaction_permissions
        ):
            return  # assigned on an earlier visit
        user_id, group_id = self._resolve_assignment(task)
        task.interaction_user_id, task.interaction_group_id = user_id, group_id
        task.interaction_permissions = list(self._permissions)
        if task.pk is not None:
            task.save(update_fields=["interaction_user", "interaction_group", "interaction_permissions"])

    def _resolve_assignment(self, task: Any) -> tuple[Any, Any]:
        user_id = group_id = None
        if self._user is not None:
            user_id = _one_pk(get_user_model(), self.resolve_selector(self._user, task), self, ".User()")
        if self._group is not None:
            group_id = _one_pk(group_model(), self.resolve_selector(self._group, task), self, ".Group()")
        return user_id, group_id


class ModelForm(Form):
    """Wait for a person to edit a model instance with a Django ``ModelForm``.

    The instance's id is kept in the automation's ``data`` under ``key``; a valid submission saves
    it (creating it and storing its id under ``key`` if there was none yet)::

        review = flow.ModelForm(ExpenseForm, key="expense").Permission("approvals.change_expense")
    """

    def __init__(
        self,
        form: type[django_forms.BaseModelForm],
        key: str,
        template_name: str | None = None,
        description: str | Promise = "",
        success_url: str | None = None,
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not (isinstance(form, type) and issubclass(form, django_forms.BaseModelForm)):
            raise TypeError(f"ModelForm() needs a Django ModelForm class, got {form!r}.")
        super().__init__(form, template_name, success_url, description, context, **kwargs)
        self._model_form = form
        self.key = key

    def get_instance(self) -> models.Model | None:
        """Return the model instance whose id is stored under ``key``, or ``None`` to create one."""
        pk = self.data.get(self.key)
        if pk is None:
            return None
        return self._model_form._meta.model._default_manager.get(pk=pk)

    def get_form_kwargs(self, task: Any) -> dict[str, Any]:
        return {"instance": self.get_instance()}

    def accept(self, submission: Submission) -> Any:
        saved = submission.apply() if submission.apply is not None else None
        if saved is not None and getattr(saved, "pk", None) is not None:
            self.data[self.key] = saved.pk
        self.data[self._declared_name()] = submission.result
        return submission.result


def _one_pk(model: type[models.Model], selector: dict[str, Any], node: Node, modifier: str) -> Any:
    matches = list(model._default_manager.filter(**selector).values_list("pk", flat=True)[:2])
    if len(matches) != 1:
        found = "no" if not matches else "more than one"
        raise LookupError(
            f"{node!r}: {modifier} selector {selector!r} matches {found} {model._meta.verbose_name}; "
            f"it must match exactly one."
        )
    return matches[0]
