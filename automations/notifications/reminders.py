"""Reminding people of a form task whose deadline approaches: once per task, whatever the workers.

Every sweep (the scheduler worker's, ``manage.py automation_step``'s) runs
:func:`remind_approaching_deadlines`: an open form task assigned to a user or a group whose
``deadline`` comes within ``ATM_NOTIFY_DEADLINE_AHEAD`` seconds is claimed by setting its
``deadline_reminded`` with a conditional ``UPDATE`` (only the process that changed the row tells),
and ``deadline_approaching`` is sent to its people after that commits. A deadline that has passed
gets no reminder: taking the deadline route tells ``deadline_passed``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from automations import settings as atm_settings
from automations.models import AutomationTaskModel
from automations.permissions import form_node_for

from . import deadline
from .base import configured

logger = logging.getLogger("automations.notifications")


def due_reminders(now=None):
    """Return the open, assigned tasks whose deadline is within ``ATM_NOTIFY_DEADLINE_AHEAD`` seconds
    of ``now`` (default: now), not yet passed and not yet reminded of, earliest deadline first."""
    now = now or timezone.now()
    ahead = timedelta(seconds=atm_settings.get("ATM_NOTIFY_DEADLINE_AHEAD"))
    return (
        AutomationTaskModel.objects.filter(
            finished=None, deadline_reminded=None, deadline__gt=now, deadline__lte=now + ahead
        )
        .filter(Q(interaction_user__isnull=False) | Q(interaction_group__isnull=False))
        .select_related("automation")
        .order_by("deadline", "pk")
    )


def remind_approaching_deadlines(limit: int = 500) -> int:
    """Tell the people of each form task whose deadline approaches, once; return how many were claimed.

    Nothing is claimed when no notifier is configured or ``ATM_NOTIFY_DEADLINE_AHEAD`` is 0, so
    that nothing is looked up either. At most ``limit`` tasks per call (the next sweep goes on).
    """
    if not atm_settings.get("ATM_NOTIFY_DEADLINE_AHEAD") or not configured():
        return 0
    now = timezone.now()
    claimed = 0
    for task in due_reminders(now)[:limit]:
        if form_node_for(task) is None:
            continue  # a deadline on a node that waits for an event or a time: nobody to remind
        with transaction.atomic():
            unclaimed = AutomationTaskModel.objects.filter(pk=task.pk, deadline_reminded=None, finished=None)
            if unclaimed.update(deadline_reminded=now) != 1:
                continue  # another worker claimed it, or it was finished meanwhile
            claimed += 1
            deadline(task, passed=False)  # sent once this transaction commits
    if claimed:
        logger.info("Reminded of %s approaching deadline(s).", claimed)
    return claimed
