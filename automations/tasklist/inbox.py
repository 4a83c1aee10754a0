"""The inbox of a person: their open tasks split into "assigned to me" and "my queue", sorted and paged.

A task assigned to the user personally (by ``.User(...)``, a claim or a reassignment) is theirs,
as are those of a user they stand in for (:mod:`automations.delegation`); every other open task
they may process (through a group, a permission, or because anybody may) is in their queue. Tasks
snoozed until a time still to come (:func:`automations.handover.snooze`) are listed apart, under
"snoozed", until then. Each row shows the
automation's :meth:`~automations.flow.Automation.get_task_summary` and how urgent the task is by
its age (``hours_since_created``): ``fresh`` below ``ATM_TASK_DUE_HOURS``, ``due`` below
``ATM_TASK_LATE_HOURS``, ``late`` after that; a task whose node has a ``.Deadline()`` shows when it
is due, and by default the soonest deadline comes first. Each section shows ``ATM_TASK_PAGE_SIZE``
tasks a page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from automations import delegation, registry
from automations import settings as atm_settings
from automations.flow import Automation

logger = logging.getLogger("automations.views")

SORTS = {
    "deadline": _("soonest deadline first"),
    "oldest": _("oldest first"),
    "newest": _("newest first"),
    "automation": _("by automation"),
}
DEFAULT_SORT = "deadline"
SECTIONS = ("mine", "queue")
SNOOZES = {
    "hour": _("an hour from now"),
    "tomorrow": _("tomorrow, 8:00"),
    "monday": _("next Monday, 8:00"),
}
MORNING = 8  # the hour a snooze "until tomorrow" or "until Monday" ends, in the current time zone
PARAMETERS = ("sort", "mine_page", "queue_page")


def task_summary(task) -> str:
    """Return the automation's summary of ``task``; the default summary if its hook fails."""
    try:
        instance = task.automation.instance
    except registry.UnknownAutomationError:
        return f"{task.status} · {task.automation.automation_class} #{task.automation_id}"
    try:
        return str(instance.get_task_summary(task))
    except Exception:
        logger.exception("get_task_summary of %s failed for task %s.", task.automation, task.pk)
        return Automation.get_task_summary(instance, task)


def urgency(task) -> str:
    """Return ``"fresh"``, ``"due"`` or ``"late"`` for an open task, by the hours it has waited."""
    hours = task.hours_since_created()
    if hours >= atm_settings.get("ATM_TASK_LATE_HOURS"):
        return "late"
    if hours >= atm_settings.get("ATM_TASK_DUE_HOURS"):
        return "due"
    return "fresh"


def age_text(hours: float) -> str:
    """Return ``hours`` in words: minutes below an hour, hours below two days, then days."""
    if hours < 1 / 60:
        return str(_("less than a minute"))
    if hours < 1:
        minutes = int(hours * 60)
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    if hours < 48:
        whole = int(hours)
        return ngettext("%(count)d hour", "%(count)d hours", whole) % {"count": whole}
    days = int(hours // 24)
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


def deadline_text(task) -> str:
    """Return when the open ``task`` is due, for people ("due in 3 hours", "overdue by 2 days"), or ``""``."""
    hours = task.hours_until_deadline()
    if hours is None:
        return ""
    if hours >= 0:
        return str(_("due in %(time)s")) % {"time": age_text(hours)}
    return str(_("overdue by %(time)s")) % {"time": age_text(-hours)}


def snooze_end(choice: str, now=None):
    """Return when a snooze of ``choice`` (a key of ``SNOOZES``) started at ``now`` ends, or ``None``."""
    now = timezone.localtime(now or timezone.now())
    if choice == "hour":
        return now + timedelta(hours=1)
    days = {"tomorrow": 1, "monday": 7 - now.weekday()}.get(choice)
    if days is None:
        return None
    day = now.date() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(MORNING)))


def is_assigned_to(task, user) -> bool:
    """Return whether ``task`` is assigned to ``user`` personally (not through a group or permission)."""
    return task.interaction_user_id is not None and task.interaction_user_id == getattr(user, "pk", None)


def _sort_key(sort):
    if sort == "automation":
        return lambda task: (_verbose_name(task), task.created, task.pk)
    if sort == "deadline":  # tasks with a deadline first, soonest first; the others oldest first
        return lambda task: (task.deadline is None, task.deadline or task.created, task.created, task.pk)
    return lambda task: (task.created, task.pk)


def _verbose_name(task) -> str:
    try:
        return str(registry.get(task.automation.automation_class).get_verbose_name())
    except registry.UnknownAutomationError:
        return task.automation.automation_class


@dataclass
class Inbox:
    """The two sections of a user's inbox, each a page of tasks, and how they are sorted."""

    mine: Page
    queue: Page
    sort: str
    parameters: dict
    snoozed: list
    represented: set

    @property
    def count(self) -> int:
        """The number of tasks waiting for the user now (snoozed ones left out)."""
        return self.mine.paginator.count + self.queue.paginator.count

    @property
    def snooze_choices(self) -> list[tuple[str, str]]:
        """The snoozes offered, as ``(key, label)``."""
        return [(key, str(label)) for key, label in SNOOZES.items()]

    @property
    def sorts(self) -> list[dict]:
        """The sort orders with their query strings, for links."""
        return [
            {"key": key, "label": label, "query": self.query(sort=key, mine_page=None, queue_page=None),
             "current": key == self.sort}
            for key, label in SORTS.items()
        ]  # fmt: skip

    def query(self, **changes) -> str:
        """Return ``?...`` for the current parameters with ``changes`` (``None`` removes one)."""
        values = {**self.parameters, **changes}
        kept = {key: value for key, value in values.items() if value not in (None, "")}
        return "?" + urlencode(kept) if kept else "?"

    def page_query(self, section, number) -> str:
        """Return the query string of page ``number`` of ``section`` (``mine`` or ``queue``)."""
        return self.query(**{f"{section}_page": number if number > 1 else None})

    @property
    def socket_query(self) -> str:
        """The parameters for the live socket, so that pushed lists keep this sort and these pages."""
        return self.query() if self.parameters else ""


def build_inbox(tasks, user, parameters=None) -> Inbox:
    """Split, sort and page ``tasks`` (the open tasks ``user`` may process) by ``parameters``.

    ``parameters`` is a mapping such as ``request.GET``: ``sort`` (``deadline``, ``oldest``,
    ``newest``, ``automation``), ``mine_page`` and ``queue_page``. Unknown values fall back to the defaults.
    """
    parameters = parameters or {}
    sort = parameters.get("sort") if parameters.get("sort") in SORTS else DEFAULT_SORT
    ordered = sorted(tasks, key=_sort_key(sort), reverse=sort == "newest")
    kept = {key: str(parameters.get(key)) for key in PARAMETERS if parameters.get(key)}
    if kept.get("sort") not in SORTS or kept.get("sort") == DEFAULT_SORT:
        kept.pop("sort", None)
    now = timezone.now()
    snoozed = [task for task in ordered if task.snoozed_until is not None and task.snoozed_until > now]
    put_aside = {task.pk for task in snoozed}
    waiting = [task for task in ordered if task.pk not in put_aside]
    represented = delegation.represented_by(user)
    mine = [task for task in waiting if is_assigned_to(task, user) or task.interaction_user_id in represented]
    ours = {task.pk for task in mine}
    queue = [task for task in waiting if task.pk not in ours]
    pages: dict[str, Any] = {}  # pages, given their pager's links below
    page_size = atm_settings.get("ATM_TASK_PAGE_SIZE")
    for section, rows in zip(SECTIONS, (mine, queue), strict=True):
        page = Paginator(rows, page_size).get_page(parameters.get(f"{section}_page"))
        pages[section] = page
        if page.number == 1:
            kept.pop(f"{section}_page", None)
        else:
            kept[f"{section}_page"] = str(page.number)
    snoozed.sort(key=lambda task: (task.snoozed_until, task.pk))
    inbox = Inbox(
        mine=pages["mine"],
        queue=pages["queue"],
        sort=sort,
        parameters=kept,
        snoozed=snoozed,
        represented=represented,
    )
    for section, page in pages.items():  # links of each section's pager, the other section kept
        page.previous_query = inbox.page_query(section, page.number - 1) if page.has_previous() else ""
        page.next_query = inbox.page_query(section, page.number + 1) if page.has_next() else ""
    return inbox
