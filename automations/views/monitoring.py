"""Views for those who watch automations run: dashboard, errors, an instance's history, tracebacks.

All of them need an active staff user with the ``automations.view_automationmodel`` permission
(superusers have it); anonymous users are sent to log in, everybody else gets 403.
"""

from __future__ import annotations

import inspect
import json
import logging

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.generic import ListView, TemplateView

from automations import registry
from automations.engine import frames
from automations.flow import get_automations
from automations.models import AutomationModel, AutomationTaskModel, Status

from .access import MonitoringAccessMixin
from .error_summary import error_summary, failure_summary
from .node_labels import ClassCache
from .summaries import standings

logger = logging.getLogger("automations.views")

DEFAULT_DASHBOARD_TEMPLATE = "automations/includes/dashboard_item.html"
FAILED = Q(result__has_key="traceback") & Q(result__has_key="exception")


class DashboardView(MonitoringAccessMixin, TemplateView):
    """One item per automation class, each rendered with its ``Meta.dashboard_template``."""

    template_name = "automations/dashboard.html"

    def get_context_data(self, **kwargs):
        counts: dict[str, dict[str, int]] = {}
        for row in AutomationModel.objects.values("automation_class", "status").annotate(count=Count("pk")):
            counts.setdefault(row["automation_class"], {})[row["status"]] = row["count"]
        paths = {path for path, _ in get_automations()} | set(counts)
        items = []
        for path in sorted(paths):
            try:
                automation_class = registry.get(path)
            except registry.UnknownAutomationError:
                continue
            items.append(self.render_item(automation_class, counts.get(path, {})))
        return super().get_context_data(items=items, **kwargs)

    def render_item(self, automation_class, counts) -> dict:
        """Return ``{"automation_class", "verbose_name", "html"}`` for one automation class.

        ``counts`` maps each status to the class's number of instances in it; the template gets
        them as ``statuses`` (``[{"status", "label", "count"}]``, every status) and as ``total``,
        ``running`` (running or waiting), ``finished``, ``errors`` (failed) and ``cancelled``.
        """
        path = automation_class.get_automation_class_name()
        queryset = AutomationModel.objects.filter(automation_class=path)
        context = {
            "automation_class": automation_class,
            "class_path": path,
            "verbose_name": automation_class.get_verbose_name(),
            "verbose_name_plural": automation_class.get_verbose_name_plural(),
            "queryset": queryset,
            "statuses": [
                {"status": status.value, "label": status.label, "count": counts.get(status, 0)}
                for status in Status
            ],
            "total": sum(counts.values()),
            "finished": counts.get(Status.FINISHED, 0),
            "errors": counts.get(Status.FAILED, 0),
            "cancelled": counts.get(Status.CANCELLED, 0),
            "running": sum(counts.get(status, 0) for status in Status.active()),
            "recent": queryset.order_by("-updated", "-pk")[:10],
        }
        where = standings(context["recent"])
        context["recent_rows"] = [
            {"model": model, "standing": where[model.pk]} for model in context["recent"]
        ]
        context.update(dashboard_context(automation_class, queryset))
        template = getattr(automation_class.Meta, "dashboard_template", None) or DEFAULT_DASHBOARD_TEMPLATE
        try:
            html = render_to_string(template, context, request=self.request)
        except TemplateDoesNotExist:  # one class's missing template must not hide the others
            logger.warning("%s: dashboard template %r does not exist.", path, template)
            html = render_to_string(DEFAULT_DASHBOARD_TEMPLATE, context, request=self.request)
        return {
            "automation_class": automation_class,
            "verbose_name": context["verbose_name"],
            "html": mark_safe(html),
        }


def dashboard_context(automation_class, queryset) -> dict:
    """Return the class's ``get_dashboard_context(queryset)``, if it defines one (class or plain method)."""
    hook = getattr(automation_class, "get_dashboard_context", None)
    if hook is None:
        return {}
    if inspect.ismethod(hook):  # a classmethod, bound to the class
        return dict(hook(queryset) or {})
    # A plain method: call it on an instance that is not bound to any database row.
    return dict(hook(object.__new__(automation_class), queryset) or {})


class AutomationErrorsView(MonitoringAccessMixin, ListView):
    """Failed tasks, newest first, and the instances an error stopped."""

    template_name = "automations/errors.html"
    context_object_name = "failed_tasks"
    paginate_by = 50

    def get_queryset(self):
        return (
            AutomationTaskModel.objects.filter(FAILED)
            .exclude(automation__status=Status.CANCELLED)
            .select_related("automation")
            .order_by("-pk")
        )

    def get_context_data(self, **kwargs):
        stopped = list(AutomationModel.objects.filter(status=Status.FAILED).order_by("-updated")[:50])
        classes = ClassCache()
        where = standings(stopped, classes)
        context = super().get_context_data(
            stopped=stopped,
            stopped_rows=[{"model": model, "standing": where[model.pk]} for model in stopped],
            may_change=self.request.user.has_perm("automations.change_automationmodel"),
            **kwargs,
        )
        context["failure_rows"] = [
            {
                "task": task,
                "label": classes.label(task.automation.automation_class, task.status),
                "summary": failure_summary(task),
            }
            for task in context["failed_tasks"]
        ]
        return context


class AutomationHistoryView(MonitoringAccessMixin, TemplateView):
    """Every step of one instance; parallel paths indented under their split, failures linked."""

    template_name = "automations/history.html"

    def get_context_data(self, **kwargs):
        automation = get_object_or_404(AutomationModel, pk=self.kwargs["automation_id"])
        tasks = list(AutomationTaskModel.objects.filter(automation=automation).order_by("pk"))
        names = {str(task.pk): task.status for task in tasks}
        rows = []
        latest_failure = None
        for task in tasks:
            splits = frames(task.path)
            failed = isinstance(task.result, dict) and "traceback" in task.result
            if failed:
                latest_failure = task
            rows.append(
                {
                    "task": task,
                    "depth": len(splits),
                    "indent": len(splits) * 2,
                    "split": names.get(splits[-1].split_task, "") if splits else "",
                    "failed": failed,
                    "summary": failure_summary(task) if failed else "",
                    "result": _shown_result(task.result),
                    "audit": None,
                    "at": task.created,
                }
            )
        for entry in automation.audit_entries.all():
            rows.append({"task": None, "audit": entry, "depth": 0, "indent": 0, "at": entry.created})
        rows.sort(key=lambda row: (row["at"], row["task"] is not None))  # an action before its step
        try:
            verbose_name = automation.get_automation_class().get_verbose_name()
        except registry.UnknownAutomationError:
            verbose_name = automation.automation_class
        return super().get_context_data(
            automation=automation,
            verbose_name=verbose_name,
            rows=rows,
            error=error_summary(automation.error, latest_failure),
            **kwargs,
        )


def _shown_result(result) -> str:
    """Return a task's result as readable JSON (a failure's traceback only on its own page)."""
    if result in (None, {}, ""):
        return ""
    if isinstance(result, dict) and "traceback" in result:
        result = {"exception": result.get("exception")}
    return json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False, default=str)


class AutomationTracebackView(MonitoringAccessMixin, TemplateView):
    """The exception and traceback a failed task recorded (no local variable values are stored)."""

    template_name = "automations/traceback.html"

    def get_context_data(self, **kwargs):
        task = get_object_or_404(
            AutomationTaskModel.objects.filter(FAILED).select_related("automation"),
            pk=self.kwargs["task_id"],
            automation_id=self.kwargs["automation_id"],
        )
        return super().get_context_data(
            task=task,
            automation=task.automation,
            exception=task.result.get("exception", ""),
            summary=failure_summary(task, limit=1000),
            traceback=task.result.get("traceback", ""),
            **kwargs,
        )
