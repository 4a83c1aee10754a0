"""The start menu: the automations a user may start, and the form that starts one.

A class is in the menu when its ``Meta`` declares a ``start_form`` (see :mod:`automations.starting`)
and the user may start it. A valid form creates the instance, which runs its first steps within the
request; the user is then sent on, in this order of preference:

1. to the form of a task of the new instance that the user may process now (the instance asks them
   first, e.g. to add details);
2. to the instance's page, if the user may see instances (``automations.view_automationmodel``);
3. to their task list.

A ``unique`` automation whose instance with the same data runs already is not started again: the
form comes back with the user's input and a message that links to the running instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views.generic import FormView, TemplateView

from automations import instances, jsonlimits, registry
from automations import settings as atm_settings
from automations.models import AutomationModel, AutomationTaskModel
from automations.permissions import may_process
from automations.starting import StartDeclaration, description, may_start, start_declaration, user_group_names

from .errors import PageErrorsMixin
from .worklist import cleaned_data_as_json

VIEW_PERMISSION = "automations.view_automationmodel"


@dataclass(frozen=True)
class StartEntry:
    """One line of the start menu."""

    automation_class: type
    class_path: str
    verbose_name: str
    description: str

    @property
    def url(self) -> str:
        return reverse("automations:start", kwargs={"class_path": self.class_path})


def startable_for(user: Any) -> list[StartEntry]:
    """Return the classes ``user`` may start, sorted by their verbose names."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    names = None if user.is_superuser else user_group_names(user)
    entries = [
        StartEntry(cls, path, str(cls.get_verbose_name()), description(cls))
        for path, cls in registry.all_automations().items()
        if may_start(user, cls, group_names=names)
    ]
    return sorted(entries, key=lambda entry: (entry.verbose_name.casefold(), entry.class_path))


def may_start_any(user: Any) -> bool:
    """Return whether ``user`` may start at least one automation (the navigation's "Start" link)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    names: set[str] | None = None
    for cls in registry.all_automations().values():
        declaration = start_declaration(cls)
        if declaration is None:
            continue
        if declaration.groups and names is None and not user.is_superuser:
            names = user_group_names(user)  # one query, and only when a class asks for groups
        if may_start(user, cls, group_names=names):
            return True
    return False


def start_parameters(form: Any, declaration: StartDeclaration, user: Any) -> dict[str, Any]:
    """Return the new instance's parameters: the cleaned data, JSON-safe, and the starting user.

    Model instances stay model instances, so that they are stored by id with their model (as for
    ``Cls(customer=user)``); querysets become lists of ids, dates ISO strings, decimals strings.
    """
    params: dict[str, Any] = cleaned_data_as_json(form)
    for name, value in form.cleaned_data.items():
        if isinstance(value, models.Model) and value.pk is not None:
            params[name] = value
    if declaration.user_key:
        params[declaration.user_key] = user
    return params


def start_instance(automation_class, declaration: StartDeclaration, form: Any, user: Any):
    """Start ``automation_class`` with the valid start ``form`` for ``user``; return ``(model, created)``.

    ``created`` is false when a ``unique`` class's instance with the same data runs already (that
    instance's model is returned). Return ``(None, False)`` with a non-field error on the form when
    the input cannot be stored. The start page and the JSON API both start through here.
    """
    params = start_parameters(form, declaration, user)
    try:
        jsonlimits.check({key: getattr(value, "pk", value) for key, value in params.items()})
    except jsonlimits.UnfitJSONError as exc:
        form.add_error(None, gettext("Your input cannot be stored (it %(reason)s).") % {"reason": exc})
        return None, False
    automation, created = instances.create_or_bind(automation_class, params)
    return AutomationModel.objects.get(pk=automation.id), created


def task_for_user(model: AutomationModel, user: Any) -> AutomationTaskModel | None:
    """Return the oldest open form task of ``model`` that ``user`` may process now, or ``None``."""
    tasks = AutomationTaskModel.objects.filter(automation=model, finished=None)
    for task in tasks.select_related("automation").order_by("pk"):
        if may_process(user, task):
            return task
    return None


class StartMenuView(PageErrorsMixin, LoginRequiredMixin, TemplateView):
    """The automations the user may start (``automations/start_menu.html``; context ``entries``)."""

    template_name = "automations/start_menu.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(entries=startable_for(self.request.user), **kwargs)


class StartAccessMixin:
    """Find the startable class of the url (404 if none) and let only who may start it in (403)."""

    request: Any
    kwargs: dict[str, Any]

    def dispatch(self, request, *args, **kwargs):
        try:
            self.automation_class = registry.get(kwargs["class_path"])
        except registry.UnknownAutomationError:
            raise Http404(gettext("No automation can be started at this address.")) from None
        declaration = start_declaration(self.automation_class)
        if declaration is None:
            raise Http404(gettext("No automation can be started at this address."))
        self.declaration = declaration
        if not may_start(request.user, self.automation_class):
            raise PermissionDenied(
                gettext("You may not start %(name)s. Ask an administrator if you think you should.")
                % {"name": self.automation_class.get_verbose_name()}
            )
        return super().dispatch(request, *args, **kwargs)


class StartView(PageErrorsMixin, LoginRequiredMixin, StartAccessMixin, FormView):
    """Show the start form of one automation class (GET) and start an instance (POST).

    Templates: ``automations/start/<class path>.html``, else ``automations/start.html``.
    """

    def get_form_class(self):
        return self.declaration.form

    def get_template_names(self):
        return [f"automations/start/{self.kwargs['class_path']}.html", "automations/start.html"]

    def get_context_data(self, **kwargs):
        context = {**atm_settings.get("ATM_FORM_VIEW_CONTEXT"), **(self.automation_class.context or {})}
        context.update(super().get_context_data(**kwargs))
        context.update(
            automation_class=self.automation_class,
            class_path=self.kwargs["class_path"],
            verbose_name=self.automation_class.get_verbose_name(),
            description=description(self.automation_class),
        )
        return context

    def form_valid(self, form):
        model, created = start_instance(self.automation_class, self.declaration, form, self.request.user)
        if model is None:
            return self.form_invalid(form)
        if not created:
            return self.render_to_response(
                self.get_context_data(form=form, running=model, running_url=self.running_url(model)),
                status=409,
            )
        self.add_started_message(model)
        return HttpResponseRedirect(self.url_after_start(model))

    def running_url(self, model: AutomationModel) -> str | None:
        """Return where the user can see the running instance of a unique class, if anywhere."""
        task = self.task_for_user(model)
        if task is not None:
            return reverse("automations:task", kwargs={"task_id": task.pk})
        if self.request.user.has_perm(VIEW_PERMISSION):
            return reverse("automations:instance", kwargs={"pk": model.pk})
        return None

    def url_after_start(self, model: AutomationModel) -> str:
        """Return the task the user may process now, else the instance page, else the task list."""
        return self.running_url(model) or reverse("automations:task_list")

    def task_for_user(self, model: AutomationModel) -> AutomationTaskModel | None:
        """Return the oldest open form task of ``model`` the user may process now, or ``None``."""
        return task_for_user(model, self.request.user)

    def add_started_message(self, model: AutomationModel) -> None:
        """Say what became of the new instance: waiting, finished already, or stopped by an error."""
        names = {"name": self.automation_class.get_verbose_name(), "pk": model.pk}
        if model.status == AutomationModel.Status.FAILED:
            text = gettext("%(name)s #%(pk)s was started, but an error stopped it.") % names
            messages.warning(self.request, text, fail_silently=True)
        elif model.status == AutomationModel.Status.FINISHED:
            text = gettext("%(name)s #%(pk)s was started and has finished already.") % names
            messages.success(self.request, text, fail_silently=True)
        else:
            text = gettext("%(name)s #%(pk)s was started.") % names
            messages.success(self.request, text, fail_silently=True)
