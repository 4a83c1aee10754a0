"""The views people work with: their task list and the form of one task."""

from __future__ import annotations

import copy
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

from automations import engine, handover, registry
from automations.exceptions import AutomationsError
from automations.flow.forms import ModelForm
from automations.models import AutomationTaskModel
from automations.permissions import form_node_for, may_process, may_process_self
from automations.tasklist.queries import open_tasks_for

from .closed_tasks import TaskClosed, closed_description, closed_task_response, may_see_closed, saved_message
from .errors import PageErrorsMixin, not_found

FAILED_MESSAGE = _(
    "An error stopped this automation while it took your input, so your input was not saved. "
    "It is shown again below."
)
NOT_YOURS_MESSAGE = _("No open task of yours has this number.")
HELD_MESSAGE = _(
    "%(user)s has taken this task, so only they can submit it now; your input was not saved. "
    "It is shown again below: ask them, or a manager, to hand the task over."
)
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
        except TaskHeld as held:
            task, self.held_by = held.task, held.holder
        if task is None:
            return not_found(request, str(NOT_YOURS_MESSAGE))
        self.task = task
        self.automation = self.task.automation.instance
        self.node = getattr(self.automation, registry.node_name(type(self.automation), self.task.status))
        # A form on a ForEach path shows its item: the page is rendered while self.item is set.
        with engine.path_item_of(task) as self.path_item:
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    def get_task(self):
        """Return the open task of the url if the user may process it, else ``None``.

        Raise :class:`TaskClosed` if the task is closed and the user may learn how it ended.
        """
        return find_task(self.request.user, self.kwargs["task_id"])

    held_by = None
    path_item = None

    def post(self, request, *args, **kwargs):
        if self.held_by is None:
            return super().post(request, *args, **kwargs)
        form = self.get_form()  # bound to what was posted: shown again, never submitted
        form.is_valid()
        form.add_error(None, HELD_MESSAGE % {"user": self.held_by})
        return self.render_to_response(self.get_context_data(form=form), status=409)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if self.held_by is not None:
            response.status_code = 409
        return response

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
            held_by=self.held_by,
        )
        if self.path_item is not None:
            context.update(item=self.path_item.item, item_index=self.path_item.index)
        return context

    def get_form(self, form_class=None):
        try:
            return super().get_form(form_class)
        except ObjectDoesNotExist as exc:  # a ModelForm's instance was deleted
            raise Http404(_("The object of this task does not exist any more.")) from exc

    def form_valid(self, form):
        if not submit(self.automation, self.task, self.node, form, self.request.user):
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


class TaskHeld(AutomationsError):
    """The user could process the task, but somebody claimed it (or snoozed it) first."""

    def __init__(self, task):
        super().__init__(task.pk)
        self.task = task
        self.holder = task.interaction_user.get_username() if task.interaction_user else "?"


def taken_from(user, task, node) -> bool:
    """Return whether ``user`` could process ``task`` if it went back to its queue (it was claimed)."""
    if not handover.is_claimed(task) or task.interaction_user_id == getattr(user, "pk", None):
        return False
    queued = copy.copy(task)
    queued.interaction_user_id = None
    return may_process_self(user, queued, node=node)


def find_task(user, task_id):
    """Return the open form task ``task_id`` if ``user`` may process it, else ``None``.

    Raise :class:`TaskClosed` if the task is closed and the user may learn how it ended, and
    :class:`TaskHeld` if the user could process it but somebody claimed it first. The task page and
    the JSON API find tasks alike.
    """
    tasks = AutomationTaskModel.objects.select_related("automation", "interaction_user")
    task = tasks.filter(pk=task_id).first()
    node = form_node_for(task) if task is not None else None
    if node is not None and may_process(user, task, node=node):
        return task
    if node is not None and may_see_closed(user, task, node):
        raise TaskClosed(task)
    if node is not None and task.finished is None and taken_from(user, task, node):
        raise TaskHeld(task)
    return None


def task_form(node, task, data=None, files=None):
    """Return the form of the open ``task`` of the ``Form`` node ``node``, bound to ``data`` if given.

    The task page and the JSON API build the form alike. Raise ``Http404`` if the object of a
    ``ModelForm`` was deleted.
    """
    kwargs = {"initial": {}, "prefix": None, **node.get_form_kwargs(task)}
    if data is not None:
        kwargs.update(data=data, files=files)
    try:
        return node.form_class(**kwargs)
    except ObjectDoesNotExist as exc:  # a ModelForm's instance was deleted
        raise Http404(_("The object of this task does not exist any more.")) from exc


def submit(automation, task, node, form, user) -> bool:
    """Continue ``automation`` with the valid ``form`` of its open ``task`` (node ``node``) for ``user``.

    Return whether the submission was taken. If it was not (the task closed meanwhile, or an error
    stopped the automation while it took the input), the form carries non-field errors that say why.
    The task page and the JSON API both submit through here.
    """
    apply = form.save if isinstance(node, ModelForm) else None
    submission = engine.Submission(task_id=task.pk, result=cleaned_data_as_json(form), user=user, apply=apply)
    # The object the form was built for is the one the step runs (refreshed under the row lock,
    # where the node checks again that this user may still process the task).
    step = engine.advance(automation, submission=submission)
    if submission.consumed:
        return True
    rows = AutomationTaskModel.objects.select_related("finished_by", "interaction_user")
    closed = rows.filter(pk=task.pk).first()
    if not step.error and closed is not None and closed.finished is None and closed.interaction_user:
        form.add_error(
            None, HELD_MESSAGE % {"user": closed.interaction_user.get_username()}
        )  # claimed meanwhile
        return False
    form.add_error(None, FAILED_MESSAGE if step.error else NOT_OPEN_MESSAGE)
    if not step.error and closed is not None and closed.finished is not None:
        form.add_error(None, closed_description(closed))
    return False


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
