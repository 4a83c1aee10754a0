"""Where an instance stands: the one module that writes ``AutomationModel.status``.

Every change of an instance's lifecycle goes through a function here, called in the transaction
of the change that causes it: the engine's step (:func:`record_step`, :func:`fail`,
:func:`make_due`), a person's action in the console or the admin (:func:`cancel`,
:func:`resume`), and a deploy that maps the nodes instances stand on
(:func:`make_due_after_deploy`). Every page, filter, count and API reads the column; none derives it again.

=======================  ===============================================================
status                   meaning
=======================  ===============================================================
``running``              due now: a step runs or is about to (a worker picks it up)
``waiting_for_person``   a path waits at a form for a person
``waiting_for_message``  a path waits for a condition on the data, which a message may make true
``waiting_for_time``     every path waits for a moment (a ``.WaitFor()``, a ``Repeat``)
``needs_migration``      a path stands on a node its class no longer declares: held, nothing runs,
                         until a deploy maps the node or a person moves it (docs/versions.md)
``failed``               a node's error stopped it; a person may retry it
``cancelled``            a person cancelled it, with a reason; it never moves again
``finished``             it reached its end
=======================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from automations.models import AutomationModel, Status
from automations.stepping import touching

__all__ = [
    "Status", "cancel", "fail", "make_due", "make_due_after_deploy", "record_step", "record_steps", "resume",
]  # fmt: skip

STEP_FIELDS = ["status", "finished", "error", "wake_at", "updated", "data"]


def record_step(
    automation_id: int,
    *,
    status: str,
    finished: bool,
    error: str,
    wake_at: datetime | None,
    now: datetime,
    **columns: Any,
) -> None:
    """Store where a step left the instance (and other ``columns`` it changed, e.g. ``data``)."""
    AutomationModel.objects.filter(pk=automation_id).update(
        status=status, finished=finished, error=error, wake_at=wake_at, updated=now, **columns
    )


def record_steps(rows: list[AutomationModel]) -> None:
    """Store where the steps of a batch left their instances: ``rows`` hold the new values.

    One statement for all rows: an ``INSERT ... ON CONFLICT (id) DO UPDATE`` of the step's columns,
    which Django compiles as one insert (``bulk_update()`` would build a ``CASE`` per row and
    column). Every row exists and is locked by the batch, so each is updated, never inserted;
    ``updated`` is the time of the write (``auto_now``).
    """
    created = [row.created for row in rows]  # an insert gives auto_now_add fields a new value
    AutomationModel.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["id"], update_fields=STEP_FIELDS
    )
    for row, moment in zip(rows, created, strict=True):
        row.created = moment


def fail(automation_id: int, error: str, now: datetime | None = None) -> None:
    """Stop the instance with ``error``: it is ``failed`` until a person retries it."""
    AutomationModel.objects.filter(pk=automation_id).update(
        status=Status.FAILED, error=error, wake_at=None, updated=now or timezone.now()
    )


def make_due(automation_id: int, now: datetime, **columns: Any) -> None:
    """Make the running instance due now (a message arrived; a worker steps it): ``running``."""
    AutomationModel.objects.filter(pk=automation_id).update(
        status=Status.RUNNING, wake_at=now, updated=now, **columns
    )


def resume(automation_id: int, now: datetime) -> None:
    """Clear a failed instance's error and make it due now: it is ``running`` again."""
    touching(automation_id)
    AutomationModel.objects.filter(pk=automation_id).update(
        status=Status.RUNNING, error="", wake_at=now, updated=now
    )


def cancel(automation_id: int, now: datetime) -> None:
    """Stop the instance for good without an error: ``cancelled`` (the reason is an audit entry's)."""
    touching(automation_id)
    AutomationModel.objects.filter(pk=automation_id).update(
        status=Status.CANCELLED, wake_at=None, updated=now
    )


def make_due_after_deploy(automation_ids: Iterable[int], now: datetime) -> int:
    """Make the alive instances ``automation_ids`` due now, held ones included: ``running``.

    After a deploy, for the instances whose nodes the new declaration maps (renamed, obsolete, or
    declared again): their next step moves them. Return how many were made due.
    """
    return AutomationModel.objects.filter(pk__in=list(automation_ids), status__in=Status.alive()).update(
        status=Status.RUNNING, wake_at=now, updated=now
    )
