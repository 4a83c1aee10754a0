"""What an open task waits for besides its node's usual wait: its next attempt, its deadline."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from automations.flow.retrying import pending_retry
from automations.tasklist.inbox import deadline_text

from .closed_tasks import local_time


def retry_note(task) -> str:
    """Return "attempt 2 of 5, next at …" for a task waiting to be tried again, else ``""``."""
    pending = pending_retry(task)
    if pending is None:
        return ""
    return _("attempt %(attempt)s of %(attempts)s, next at %(when)s (after %(error)s)") % {
        "attempt": pending.attempt,
        "attempts": pending.attempts,
        "when": local_time(pending.at),
        "error": pending.error,
    }


def deadline_note(task) -> str:
    """Return "due in 3 hours (2030-01-09 09:00:00)" for an open task with a deadline, else ``""``."""
    if task.finished is not None or task.deadline is None:
        return ""
    return _("%(due)s (%(when)s)") % {"due": deadline_text(task), "when": local_time(task.deadline)}


def is_overdue(task) -> bool:
    """Return whether the open ``task``'s deadline has passed (its route is taken at the next step)."""
    return task.finished is None and task.deadline is not None and task.deadline <= timezone.now()
