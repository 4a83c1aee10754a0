"""What a person sees of a task that is not open any more: who completed it and when.

Somebody who could have processed the task (or who completed it) learns who decided it and when,
instead of a bare "not found"; input they just submitted is shown back, so it is never lost
without a word. Everybody else still gets a plain 404, so that task numbers reveal nothing.
"""

from __future__ import annotations

from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from automations import registry
from automations.exceptions import AutomationsError

CLOSED_TEMPLATE = "automations/task_closed.html"
SECONDS_FORMAT = "Y-m-d H:i:s"


class TaskClosed(AutomationsError):
    """The task exists but is not open any more, and the user may learn how it ended."""

    def __init__(self, task):
        super().__init__(task.pk)
        self.task = task


def local_time(moment) -> str:
    """Return ``moment`` in the current time zone, to the second (``2026-12-02 04:05:06``)."""
    return date_format(timezone.localtime(moment), SECONDS_FORMAT) if moment else ""


def may_see_closed(user, task, node) -> bool:
    """Return whether ``user`` may learn how the task ``task`` of the form ``node`` ended."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    automation = task.automation
    if task.finished is None and automation.is_active:
        return False  # still open: not this user's to process
    if user.is_superuser or (task.finished_by_id is not None and task.finished_by_id == user.pk):
        return True
    return task.get_users_with_permission(include_superusers=False).filter(pk=user.pk).exists()


def closed_description(task) -> str:
    """Return one sentence saying who closed ``task`` and when (or why it cannot be completed)."""
    automation = task.automation
    if task.finished is not None and task.finished_by_id is not None:
        who = task.finished_by.get_username() if task.finished_by else "?"
        return _("%(user)s completed this task on %(when)s.") % {
            "user": who,
            "when": local_time(task.finished),
        }
    if task.finished is not None and task.message == "ended":
        return _("This task was closed on %(when)s because the automation finished.") % {
            "when": local_time(task.finished)
        }
    if task.finished is not None:
        return _("This task was closed on %(when)s.") % {"when": local_time(task.finished)}
    if automation.status == automation.Status.CANCELLED:
        return _("The automation was cancelled on %(when)s, so this task cannot be completed.") % {
            "when": local_time(automation.updated)
        }
    if automation.error:
        return _("An error stopped this automation on %(when)s, so this task cannot be completed now.") % {
            "when": local_time(automation.updated)
        }
    return _("The automation finished on %(when)s.") % {"when": local_time(automation.updated)}


def verbose_name_of(automation) -> str:
    """Return the verbose name of the automation class of ``automation`` (its path if unknown)."""
    try:
        return str(registry.get(automation.automation_class).get_verbose_name())
    except registry.UnknownAutomationError:
        return automation.automation_class


def closed_task_response(request, task):
    """Render ``automations/task_closed.html`` (status 404), with any input just submitted shown back."""
    submitted = []
    if request.method == "POST":
        submitted = [(name, value) for name, value in request.POST.items() if name != "csrfmiddlewaretoken"]
    context = {
        "task": task,
        "automation_model": task.automation,
        "verbose_name": verbose_name_of(task.automation),
        "description": closed_description(task),
        "submitted": submitted,
    }
    return TemplateResponse(request, CLOSED_TEMPLATE, context, status=404).render()


def saved_message(task, automation) -> str:
    """Return the confirmation shown after a person's input was saved."""
    return _("%(name)s #%(pk)s: your input was saved.") % {
        "name": automation.get_verbose_name(),
        "pk": task.automation_id,
    }
