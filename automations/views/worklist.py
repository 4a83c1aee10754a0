"""The views people work with: their task list and the form of one task."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, TemplateView

from automations import engine, registry
from automations.flow.forms import ModelForm
from automations.models import AutomationTaskModel
from automations.permissions import form_node_for, may_process
from automations.tasklist.queries import open_tasks_for

from .closed_tasks import TaskClosed, closed_description, closed_task_response, may_see_closed, saved_message
from .errors import PageErrorsMixin, not_found

FAILED_MESSAGE = _(
    "An error stopped this automation while it took your input, so your input was not saved. "
    "It is shown again below."
)
NOT_YOURS_MESSAGE = _("No open task of yours has this number.")
NOT_OPEN_MESSAGE = _(
    "This task was completed or closed while you were working on it, so your input was not saved. "
    "It is shown again below."
)


class TaskListView(LoginRequiredMixin, TemplateView):
    """The open tasks the user may process, across all automations (``automations/task_list.html``).

    The list is split into the tasks assigned to the user and their groups' and permissions' queue,
    sorted and paged by ``?sort=``, ``?mine_page=`` and ``?queue_page=`` (see
    :mod:`automations.tasklist.inbox`).
    """

    template_name = "automations/task_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(tasks=open_tasks_for(self.request.user), **kwargs)


class TaskView(PageErrorsMixin, LoginRequiredMixin, FormView):
    """Show the form of an open task (GET) and take a submission (POST).

    Anybody but the users who may process the task gets a 404, on every method. A valid
    submission continues the automation within the request and redirects to the ``next``
    parameter, the node's ``success_url`` or the task list (same-host URLs only).
    """

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            task = self.get_task()
        except TaskClosed as closed:
            return closed_task_response(request, closed.task)
        if task is None:
            return not_found(request, str(NOT_YOURS_MESSAGE))
        self.task = task
        self.automation = self.task.automation.instance
        self.node = getattr(self.automation, registry.node_name(type(self.automation), self.task.status))
        return super().dispatch(request, *args, **kwargs)

    def get_task(self):
        """Return the open task of the url if the user may process it, else ``None``.

        Raise :class:`TaskClosed` if the task is closed and the user may learn how it ended.
        """
        tasks = AutomationTaskModel.objects.select_related("automation")
        task = tasks.filter(pk=self.kwargs["task_id"]).first()
        node = form_node_for(task) if task is not None else None
        if node is not None and may_process(self.request.user, task, node=node):
            return task
        if node is not None and may_see_closed(self.request.user, task, node):
            raise TaskClosed(task)
        return None

    def get_form_class(self):
        return self.node.form_class

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), **self.node.get_form_kwargs(self.task)}

    def get_template_names(self):
        return self.node.get_template_names()

    def get_context_data(self, **kwargs):
        context = self.node.get_context()
        context.update(super().get_context_data(**kwargs))
        context.update(
            task=self.task,
            node=self.node,
            description=self.node.description,
            automation=self.automation,
            automation_model=self.task.automation,
            verbose_name=self.automation.get_verbose_name(),
        )
        return context

    def get_form(self, form_class=None):
        try:
            return super().get_form(form_class)
        except ObjectDoesNotExist as exc:  # a ModelForm's instance was deleted
            raise Http404(_("The object of this task does not exist any more.")) from exc

    def form_valid(self, form):
        apply = form.save if isinstance(self.node, ModelForm) else None
        submission = engine.Submission(
            task_id=self.task.pk, result=cleaned_data_as_json(form), user=self.request.user, apply=apply
        )
        # The object the form was built for is the one the step runs (refreshed under the row lock,
        # where the node checks again that this user may still process the task).
        step = engine.advance(self.automation, submission=submission)
        if not submission.consumed:
            form.add_error(None, FAILED_MESSAGE if step.error else NOT_OPEN_MESSAGE)
            closed = AutomationTaskModel.objects.select_related("finished_by").filter(pk=self.task.pk).first()
            if not step.error and closed is not None and closed.finished is not None:
                form.add_error(None, closed_description(closed))
            return self.render_to_response(self.get_context_data(form=form), status=409)
        messages.success(self.request, saved_message(self.task, self.automation), fail_silently=True)
        return HttpResponseRedirect(self.get_success_url())

    def get_success_url(self):
        candidates = [self.request.POST.get("next"), self.request.GET.get("next")]
        if self.node.success_url:
            try:
                candidates.append(resolve_url(self.node.success_url))
            except NoReverseMatch:
                candidates.append(self.node.success_url)
        for url in candidates:
            if url and url_has_allowed_host_and_scheme(
                url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
            ):
                return url
        return reverse("automations:task_list")


def cleaned_data_as_json(form) -> dict:
    """Return the form's cleaned data as JSON-able values (model instances by id, files by name)."""
    return {name: _jsonable(value) for name, value in form.cleaned_data.items()}


def _jsonable(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet):
        return list(value.values_list("pk", flat=True))
    if hasattr(value, "read") and hasattr(value, "name"):
        return value.name
    if isinstance(value, list | tuple | set):
        return [_jsonable(item) for item in value]
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False))
    except (TypeError, ValueError):
        return str(value)
