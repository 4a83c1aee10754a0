"""Locking instance rows: the one place that asks the database for ``SELECT ... FOR UPDATE``."""

from __future__ import annotations

from typing import TypeVar

from django.db import connection, models

from automations.models import AutomationModel

_Row = TypeVar("_Row", bound=models.Model)


def lock_rows(queryset: models.QuerySet[_Row], *, skip_locked: bool = False) -> models.QuerySet[_Row]:
    """Return ``queryset`` locking its rows until the transaction ends, where the database can.

    ``skip_locked`` leaves out rows another transaction holds (where the database supports it).
    """
    if connection.features.has_select_for_update:
        queryset = queryset.select_for_update(
            skip_locked=skip_locked and connection.features.has_select_for_update_skip_locked
        )
    return queryset


def lock_instance(automation_id: int, *, skip_locked: bool = False) -> AutomationModel | None:
    """Lock the row of instance ``automation_id`` and return it (``None`` if gone or skipped)."""
    for row in lock_rows(AutomationModel.objects.filter(pk=automation_id), skip_locked=skip_locked):
        return row  # one row at most: no ORDER BY or LIMIT to build, as first() would
    return None
