"""The sweep: every instance that is due advances once, and blocked ones are only re-checked.

``manage.py automation_step`` (``AutomationModel.run()``) and the scheduler worker's periodic
sweep call :func:`sweep`; it is the safety net for lost wake-ups and dead workers.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import OperationalError, transaction
from django.utils import timezone

from automations import models, registry
from automations.models import AutomationModel, AutomationTaskModel, Status
from automations.outcomes import Wait

from .locking import lock_rows
from .steps import advance, mark_error

logger = logging.getLogger("automations.engine")


def sweep(*, limit: int | None = None, batch_size: int = 200) -> dict[str, int]:
    """Advance every instance that is due now once; skip those another worker holds.

    Due instances are read in batches through the ``wake_at`` index, earliest first, so the cost
    follows the number of due instances, not of all instances. An instance whose step fails
    outside its nodes (e.g. a database error) is stopped with the error, except for operational
    errors (locks, lost connections), which the next sweep retries. Instances whose every path is
    still held back by a modifier (typically an unmet ``AsSoonAs``) are only re-checked and
    postponed, a batch at a time (see :func:`_postpone_held`). Return counts:
    ``{"advanced": n, "finished": n, "errors": n, "skipped": n, "postponed": n}``.
    """
    counts = {"advanced": 0, "finished": 0, "errors": 0, "skipped": 0, "postponed": 0}
    due = AutomationModel.objects.filter(wake_at__lte=timezone.now()).order_by("wake_at", "pk")
    batch = list(due.values_list("wake_at", "pk")[:batch_size])
    while batch:
        postponed = _postpone_held([pk for _, pk in batch])
        counts["postponed"] += len(postponed)
        for _, pk in batch:
            if pk in postponed:
                continue
            try:
                result = advance(pk, skip_locked=True, due_only=True, run_threaded=True)
            except OperationalError:
                logger.exception("Automation instance %s could not be advanced; the next sweep retries.", pk)
                counts["errors"] += 1
                continue
            except Exception as exc:
                logger.exception("Automation instance %s could not be advanced.", pk)
                message = f"The engine could not advance this instance: {exc!r}"[:2000]
                mark_error(AutomationModel(pk=pk), message)
                counts["errors"] += 1
                continue
            if result.skipped:
                counts["skipped"] += 1
            else:
                counts["advanced"] += 1
                counts["finished"] += result.finished
                counts["errors"] += bool(result.error)
            if limit is not None and counts["advanced"] >= limit:
                return counts
        # The next batch starts after the last instance in (wake_at, pk) order. Ordered by pk
        # alone, SQLite walked the whole table in rowid order instead of searching the index.
        last_wake_at, last_pk = batch[-1]
        later = due.filter(wake_at__gte=last_wake_at).exclude(wake_at=last_wake_at, pk__lte=last_pk)
        batch = list(later.values_list("wake_at", "pk")[:batch_size])
    return counts


models.use_sweep(sweep)


def _postpone_held(pks: Iterable[int]) -> set[int]:
    """Re-check the due instances ``pks`` without stepping them; return the ids that stay held.

    An instance whose every open path is held back by its node's modifiers (``AsSoonAs`` still
    unmet, a time not yet reached) needs no step: its ``wake_at`` moves on, in one ``UPDATE`` per new
    wake time for the whole batch; data a condition changed is saved as a step would. Only
    conditions and times are evaluated, never a node's work;
    anything else (a path that could move, an error, an unknown class or node) is left to a full
    step, which decides under the instance's own lock as always.
    """
    now = timezone.now()
    postponed: defaultdict[datetime, list[int]] = defaultdict(list)
    with transaction.atomic():
        due = AutomationModel.objects.filter(pk__in=pks, wake_at__lte=now, status__in=Status.active())
        due = due.only("automation_class", "data", "model_refs", "finished", "error", "key")
        rows = {row.pk: row for row in lock_rows(due, skip_locked=True)}
        open_tasks: defaultdict[int, list[AutomationTaskModel]] = defaultdict(list)
        tasks = AutomationTaskModel.objects.filter(automation_id__in=list(rows), finished=None)
        for task in tasks.only("automation_id", "status", "created", "path"):
            open_tasks[task.automation_id].append(task)
        for pk, row in rows.items():
            before = json.dumps(row.data, sort_keys=True)
            until = _held_until(row, open_tasks[pk], now)
            if until is None:
                continue
            postponed[until].append(pk)
            if json.dumps(row.data, sort_keys=True) != before:  # a condition noted something in data
                AutomationModel.objects.filter(pk=pk).update(data=row.data)
        for until, ids in postponed.items():
            AutomationModel.objects.filter(pk__in=ids).update(wake_at=until)
    return {pk for ids in postponed.values() for pk in ids}


class _HoldVisit:
    """The little a node's modifiers see when a waiting path is re-checked."""

    run_threaded, submission = True, None

    def __init__(self, automation: Any, task: AutomationTaskModel, now: datetime) -> None:
        self.automation, self.task, self.now = automation, task, now


def _held_until(row: AutomationModel, tasks: list[AutomationTaskModel], now: datetime) -> datetime | None:
    """Return when to look again if every path in ``tasks`` is still held back, else ``None``."""
    if not tasks:
        return None
    try:
        automation = registry.get(row.automation_class)(automation=row)
    except (registry.UnknownAutomationError, TypeError):
        return None
    moments = []
    for task in tasks:
        if task.status not in type(automation)._nodes:
            return None
        task.automation = row
        try:
            outcome = getattr(automation, task.status).hold(_HoldVisit(automation, task, now))
        except Exception:  # the full step records the error on the task
            return None
        if not isinstance(outcome, Wait) or outcome.until is None or outcome.until <= now:
            return None
        moments.append(outcome.until)
    return min(moments)
