"""The instances of every automation class, one instance's page, and the actions on it.

``InstanceListView`` and ``InstanceView`` need an active user with the view permission on
``AutomationModel`` (staff or not); ``InstanceActionView`` needs the change permission too.
Anonymous users are sent to log in, everybody else gets the 403 page.
"""

from __future__ import annotations

import json
import logging
from typing import NamedTuple

from django import forms
from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView, ListView, TemplateView

from automations import instance_actions, registry
from automations import settings as atm_settings
from automations.flow import get_automations
from automations.flow.forms import Form
from automations.models import AutomationModel, AutomationTaskModel, AutomationVersion, Status
from automations.permissions import may_process
from automations.versions import records

from .access import ChangeAccessMixin, InstanceAccessMixin
from .closed_tasks import local_time
from .error_summary import error_summary, failure_summary, latest_failures
from .message_form import MessageForm, chosen, receiver_choices
from .node_labels import node_label
from .summaries import standings
from .waits import deadline_note, is_overdue, retry_note

logger = logging.getLogger("automations.views")

#: The instances' statuses, offered as filters in this order (``?state=<value>``).
STATES = {status.value: status.label for status in Status}
#: Older filter names, still understood in links people kept.
STATE_ALIASES = {"person": Status.WAITING_FOR_PERSON, "time": Status.WAITING_FOR_TIME, "error": Status.FAILED}


def pretty_json(value) -> str:
    """Return ``value`` as indented JSON with sorted keys, for people to read.

    Data nested too deep to encode (stored by code, not through the console) is named, not shown.
    """
    try:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)
    except RecursionError:
        return str(_("(nested too deep to show)"))


def has_nul(parameters) -> bool:
    """Return whether any value of the ``QueryDict`` ``parameters`` holds a NUL character.

    No instance can match one (PostgreSQL refuses NUL in text), so searches and filters with one
    show no instance instead of failing.
    """
    return any("\x00" in key or "\x00" in "".join(values) for key, values in parameters.lists())


def filter_state(queryset, state):
    """Return the instances of ``queryset`` whose status is ``state`` (a key of :data:`STATES`
    or :data:`STATE_ALIASES`; anything else: all)."""
    state = STATE_ALIASES.get(state, state)
    return queryset.filter(status=state) if state in STATES else queryset


class InstanceFilter(NamedTuple):
    """The instances a list shows, and the filters it understood."""

    queryset: QuerySet
    automation: str
    state: str
    search: str


def filter_instances(parameters) -> InstanceFilter:
    """Return the instances matching the filters of ``parameters`` (a ``QueryDict``), newest first.

    ``automation`` is a class path, ``state`` a status (an unknown one is ignored), ``q`` searches
    the data (case-insensitive), the keys, and ``#12`` or ``12`` the number. The instances page and
    the JSON API filter alike.
    """
    queryset = AutomationModel.objects.all()
    automation_path = parameters.get("automation", "")
    state = parameters.get("state", "")
    state = STATE_ALIASES.get(state, state)
    if state not in STATES:
        state = ""
    search = parameters.get("q", "").strip()
    if has_nul(parameters):
        return InstanceFilter(queryset.none(), automation_path, state, search)
    if automation_path:
        queryset = queryset.filter(automation_class=automation_path)
    queryset = filter_state(queryset, state)
    if search:
        condition = Q(data__icontains=search) | Q(key=search)
        number = search.lstrip("#")
        if number.isdigit():
            condition |= Q(pk=int(number))
        queryset = queryset.filter(condition)
    return InstanceFilter(queryset.order_by("-pk"), automation_path, state, search)


def _class_or_none(model):
    try:
        return model.get_automation_class()
    except registry.UnknownAutomationError:
        return None


def verbose_name_of(path) -> str:
    try:
        return str(registry.get(path).get_verbose_name())
    except registry.UnknownAutomationError:
        return path


def automation_classes() -> list[dict]:
    """Return ``{"path", "verbose_name"}`` for every declared class and every class with instances."""
    paths = {path for path, _ in get_automations()}
    paths |= set(AutomationModel.objects.values_list("automation_class", flat=True).distinct())
    return sorted(
        ({"path": p, "verbose_name": verbose_name_of(p)} for p in paths), key=lambda c: c["verbose_name"]
    )


class InstanceListView(InstanceAccessMixin, ListView):
    """Automation instances, newest first, filtered by ``?automation=``, ``?state=`` and ``?q=``.

    ``q`` searches the instances' data (case-insensitive), their keys, and ``#12`` or ``12`` their
    number. Template: ``automations/instances.html``.
    """

    template_name = "automations/instances.html"
    context_object_name = "instances"
    paginate_by = 25

    def get_queryset(self):
        found = filter_instances(self.request.GET)
        self.automation_path, self.state, self.search = found.automation, found.state, found.search
        return found.queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = list(context["instances"])
        where = standings(page)
        rows = []
        for model in page:
            rows.append(
                {
                    "model": model,
                    "verbose_name": verbose_name_of(model.automation_class),
                    "state": model.status,
                    "state_label": model.get_status_display(),
                    "nodes": [label.identifier or label.text for label in where[model.pk].now_at],
                    "standing": where[model.pk],
                }
            )
        context.update(
            rows=rows,
            classes=automation_classes(),
            states=[
                {"key": key, "label": label, "query": self.query_with(state=key)}
                for key, label in STATES.items()
            ],
            all_states_query=self.query_with(state=None),
            current_state=self.state,
            current_automation=self.automation_path,
            search=self.search,
            page_query=self.query_with(),
            may_change=self.request.user.has_perm("automations.change_automationmodel"),
        )
        return context

    def query_with(self, **changes) -> str:
        """Return this page's query string without ``page`` and empty values, with ``changes``
        (``None`` removes a parameter), URL-encoded for a link."""
        query = self.request.GET.copy()
        for key in ["page", *changes]:
            query.pop(key, None)
        for key, value in changes.items():
            if value is not None:
                query[key] = value
        for key in [key for key, values in query.lists() if not any(values)]:
            del query[key]
        return query.urlencode()


def timeline(model, user) -> list[dict]:
    """Return the history rows of ``model``, oldest first, times to the second: every node visit
    (a task row) and every action a person took (an audit entry), in the order they happened."""
    tasks = AutomationTaskModel.objects.filter(automation=model).select_related("finished_by").order_by("pk")
    cls = _class_or_none(model)
    rows = []
    limit = atm_settings.get("ATM_HISTORY_LIMIT")
    for task in tasks[:limit]:
        result = task.result
        failed = isinstance(result, dict) and "traceback" in result and "exception" in result
        shown = result
        if failed and isinstance(result, dict):
            shown = {"exception": result.get("exception")}
        rows.append(
            {
                "task": task,
                "label": node_label(cls, task.status),
                "audit": None,
                "failed": failed,
                "summary": failure_summary(task) if failed else "",
                "open": task.finished is None,
                "at": task.created,
                "created": local_time(task.created),
                "finished": local_time(task.finished),
                "depth": len(task.path.split("/")) if task.path else 0,
                "retry": retry_note(task) if task.finished is None else "",
                "result": pretty_json(shown) if shown not in (None, {}, "") else "",
            }
        )
    for entry in model.audit_entries.all()[:limit]:
        rows.append({"task": None, "audit": entry, "failed": False, "open": False, "at": entry.created,
                     "created": local_time(entry.created), "depth": 0, "result": ""})  # fmt: skip
    # An action comes before the node visits of the same moment: those are the step it caused.
    rows.sort(key=lambda row: (row["at"], row["task"] is not None))
    return rows


def positions(model, user, now) -> list[dict]:
    """Return where ``model`` stands: one entry per open task (one per waiting path)."""
    cls = _class_or_none(model)
    entries = []
    for task in AutomationTaskModel.objects.filter(automation=model, finished=None).order_by("pk"):
        task.automation = model
        node = cls._nodes.get(registry.node_name(cls, task.status)) if cls is not None else None
        is_form = isinstance(node, Form)
        task_url = None
        if is_form and may_process(user, task, node=node):
            task_url = reverse("automations:task", args=[task.pk])
        entries.append(
            {
                "task": task,
                "node": task.status,
                "label": node_label(cls, task.status),
                "description": getattr(node, "description", "") if node is not None else "",
                "since": local_time(task.created),
                "path": task.path,
                "is_form": is_form,
                "task_url": task_url,
                "retry": retry_note(task),
                "deadline": deadline_note(task),
                "overdue": is_overdue(task),
                "assigned": task.interaction_user
                or task.interaction_group
                or ", ".join(task.interaction_permissions),
            }
        )
    return entries


class InstanceView(InstanceAccessMixin, TemplateView):
    """One instance: its data, where it stands on each path, its history, its errors and actions.

    Template: ``automations/instance.html`` (blocks ``facts``, ``actions``, ``diagram``,
    ``positions``, ``data``, ``errors``, ``history``).
    """

    template_name = "automations/instance.html"

    def get_context_data(self, **kwargs):
        model = get_object_or_404(AutomationModel, pk=self.kwargs["pk"])
        context = instance_context(model, self.request.user)
        if model.status not in (Status.FINISHED, Status.CANCELLED):  # it may still change
            context["live_socket"] = f"/ws/automations/instances/{model.pk}/"
        return super().get_context_data(**context, **kwargs)


#: The parts of the instance page that its socket replaces when the instance changes, each
#: rendered by ``automations/includes/instance_<part>.html``.
LIVE_PARTS = ("title", "facts", "actions", "positions", "data", "errors", "history")


def instance_context(model: AutomationModel, user) -> dict:
    """Return what the instance page and its live parts show of ``model`` to ``user``."""
    now = timezone.now()
    rows = timeline(model, user)
    history_limit = atm_settings.get("ATM_HISTORY_LIMIT")
    may_change = user.has_perm("automations.change_automationmodel")
    failure = instance_actions.failed_task(model) if model.error else None
    cls = _class_or_none(model)
    return {
        "user": user,
        "automation": model,
        "automation_class": cls,
        "verbose_name": verbose_name_of(model.automation_class),
        "state": model.status,
        "state_label": model.get_status_display(),
        "created": local_time(model.created),
        "updated": local_time(model.updated),
        "wake_at": local_time(model.wake_at),
        "error_summary": error_summary(model.error, failure),
        "failure": failure,
        "failure_label": node_label(cls, failure.status) if failure is not None else None,
        "data_json": pretty_json(model.data),
        "positions": positions(model, user, now),
        "history": rows,
        "history_truncated": sum(row["task"] is not None for row in rows) >= history_limit,
        "failed": [row for row in rows if row["failed"]],
        # Only a cancelled instance's page says who cancelled it and why.
        "cancelled": model.audit_entries.filter(action="cancel").last()
        if model.status == Status.CANCELLED
        else None,
        "version": version_facts(model, cls),
        "parent": related_instance(model.parent) if model.parent is not None else None,
        "children": [related_instance(child) for child in model.children.order_by("pk")[:CHILDREN_SHOWN]],
        "children_count": model.children.count(),
        "held_nodes": instance_actions.unknown_nodes(model) if model.status == Status.NEEDS_MIGRATION else [],
        "actions": instance_actions.available(model) if may_change else [],
        "may_change": may_change,
    }


#: How many children (instances its SubAutomation nodes started) an instance's page lists.
CHILDREN_SHOWN = 50


def related_instance(model: AutomationModel) -> dict:
    """Return what the instance page says of a parent or child instance: its link text and state."""
    return {"pk": model.pk, "verbose_name": verbose_name_of(model.automation_class),
            "state_label": model.get_status_display()}  # fmt: skip


def version_facts(model: AutomationModel, cls) -> dict | None:
    """Return what the page says of the version ``model`` started under, or ``None`` without one."""
    version = AutomationVersion.objects.filter(pk=model.version_id).first() if model.version_id else None
    if version is None:
        return None
    stored = (version.automation_class, version.label, version.fingerprint)
    current = cls is not None and records.key_of(cls) == stored
    return {"label": version.label, "fingerprint": version.fingerprint[:8], "current": current,
            "first_seen": local_time(version.created)}  # fmt: skip


def live_parts(model: AutomationModel, user) -> dict[str, str]:
    """Return the HTML of each of :data:`LIVE_PARTS` of ``model``'s page for ``user``."""
    context = instance_context(model, user)
    return {
        part: render_to_string(f"automations/includes/instance_{part}.html", context) for part in LIVE_PARTS
    }


class CancelForm(forms.Form):
    """Why the instances are cancelled: required, kept in their audit entries."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=instance_actions.REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown in the instance's history, with your name."),
    )


class ConfirmForm(forms.Form):
    """The other actions need nothing but the confirmation itself."""


class MoveForm(forms.Form):
    """Where a held instance's path goes on: from a node it stands on, to a declared node, and why."""

    from_node = forms.ChoiceField(label=_("From the node"))
    to_node = forms.ChoiceField(label=_("To the node"))
    reason = forms.CharField(
        label=_("Reason"),
        max_length=instance_actions.REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown in the instance's history, with your name."),
    )

    def __init__(self, *args, model=None, **kwargs):
        super().__init__(*args, **kwargs)
        cls = _class_or_none(model)
        self.fields["from_node"].choices = [(n, n) for n in instance_actions.unknown_nodes(model)]
        self.fields["to_node"].choices = [
            (name, f"{name}: {node_label(cls, name).text}") for name in instance_actions.target_nodes(model)
        ]


FORMS = {"message": MessageForm, "cancel": CancelForm, "move": MoveForm}


class InstanceActionView(ChangeAccessMixin, FormView):
    """Confirm (GET) and carry out (POST, with CSRF) one action on an instance, then go back to it.

    Every action carried out writes an audit entry into the instance's history (see
    :mod:`automations.instance_actions`). Template: ``automations/instance_action.html``.
    """

    template_name = "automations/instance_action.html"

    def dispatch(self, request, *args, **kwargs):
        self.action = instance_actions.ACTIONS.get(kwargs["action"])
        return super().dispatch(request, *args, **kwargs)

    def get_model(self):
        if self.action is None:
            raise Http404(_("There is no such action."))
        return get_object_or_404(AutomationModel, pk=self.kwargs["pk"])

    def get_form_class(self):
        return FORMS.get(self.action.name, ConfirmForm) if self.action is not None else ConfirmForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.get_form_class() is MessageForm:
            kwargs.update(self.receivers())
        elif self.get_form_class() is MoveForm:
            kwargs["model"] = self.model
        return kwargs

    def receivers(self) -> dict:
        """Return the receivers offered and the one chosen (the POST's ``message``, else ``?receiver=``)."""
        choices = receiver_choices(_class_or_none(self.model))
        name = self.request.POST.get("message") if self.request.method == "POST" else None
        return {"receivers": choices, "receiver": chosen(choices, name or self.request.GET.get("receiver"))}

    def get(self, request, *args, **kwargs):
        self.model = self.get_model()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.model = self.get_model()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            automation=self.model,
            verbose_name=verbose_name_of(self.model.automation_class),
            action=self.action,
            applies=self.action in instance_actions.available(self.model),
            error=self.error_summary(),
            publishes=instance_actions.publishes_receivers(_class_or_none(self.model)),
            **kwargs,
        )

    def error_summary(self) -> str:
        """Return the one-line summary of the instance's error (``""`` without one)."""
        if not self.model.error:
            return ""
        return error_summary(self.model.error, latest_failures([self.model.pk]).get(self.model.pk))

    def form_valid(self, form):
        params = dict(form.cleaned_data)
        try:
            done = instance_actions.perform(self.model, self.action.name, self.request.user, **params)
        except instance_actions.InvalidActionInput as exc:
            parameter = getattr(exc, "parameter", None)
            form.add_error(form.parameter_field_name(parameter) if parameter else None, str(exc))
            return self.form_invalid(form)
        except instance_actions.ActionNotPossible as exc:
            return self.no_longer_applies(form, str(exc))
        except Exception as exc:  # a receiver's own error: tell the person, keep the page
            logger.exception("Action %s on instance %s failed.", self.action.name, self.model.pk)
            error = f"{type(exc).__name__}: {exc}"[:200]
            failed = _("The action failed: %(error)s") % {"error": error}
            messages.error(self.request, failed, fail_silently=True)
        else:
            messages.success(self.request, done, fail_silently=True)
        return HttpResponseRedirect(self.get_success_url())

    def no_longer_applies(self, form, reason):
        """The page that says why the action does not apply now, e.g. when somebody acted first (409)."""
        self.model = AutomationModel.objects.filter(pk=self.model.pk).first() or self.model
        context = self.get_context_data(form=form)
        context.update(applies=False, reason=reason)
        return self.render_to_response(context, status=409)

    def get_success_url(self):
        return reverse("automations:instance", args=[self.model.pk])
