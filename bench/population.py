"""Creating many sleeping instances fast, as copies of what the engine wrote for a real one.

A real ``Sleeper`` is started through the engine; its rows (the instance and its tasks) are the
template. Each copy is the template moved back in time by its own offset, so that the copies went
to sleep one after another and wake one after another.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from automations.models import AutomationModel, AutomationTaskModel, new_key
from bench.automations import Sleeper
from bench.measure import CheckFailed

SPACING = timedelta(milliseconds=10)  # between the starts of two consecutive copies
CHUNK = 2000


class Template:
    """The rows the engine wrote for one ``Sleeper`` that now sleeps."""

    def __init__(self):
        sleeper = Sleeper()
        self.id = sleeper.id
        self.row = AutomationModel.objects.get(pk=sleeper.id)
        self.tasks = list(AutomationTaskModel.objects.filter(automation_id=sleeper.id).order_by("pk"))
        if self.row.finished or self.row.error or self.row.wake_at is None:
            raise CheckFailed(f"The template Sleeper does not sleep: {self.row.__dict__}")


def _shifted_copy(obj, shift, **overrides):
    values = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(obj, field.attname)
        values[field.attname] = value + shift if isinstance(value, datetime) else copy.deepcopy(value)
    values.update(overrides)
    return type(obj)(**values)


def add_sleepers(template: Template, count: int, first_index: int) -> None:
    """Add ``count`` copies of ``template``; copy ``i`` is ``(first_index + i + 1) * SPACING`` older."""
    row = template.row
    for start in range(0, count, CHUNK):
        indexes = range(first_index + start, first_index + min(start + CHUNK, count))
        shifts = [-(index + 1) * SPACING for index in indexes]
        with transaction.atomic():
            models = AutomationModel.objects.bulk_create(
                [_shifted_copy(row, shift, key=new_key()) for shift in shifts]
            )
            if any(model.pk is None for model in models):
                raise RuntimeError("This database does not return the ids of bulk-created rows.")
            # created/updated are auto_now(_add): bulk_create sets them to now; move them back.
            AutomationModel.objects.filter(pk__in=[model.pk for model in models]).update(
                created=F("wake_at") - (row.wake_at - row.created),
                updated=F("wake_at") - (row.wake_at - row.updated),
            )
            AutomationTaskModel.objects.bulk_create(
                [
                    _shifted_copy(task, shift, automation_id=model.pk)
                    for model, shift in zip(models, shifts, strict=True)
                    for task in template.tasks
                ]
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does soon after a bulk load
            cursor.execute(f"ANALYZE {AutomationModel._meta.db_table}, {AutomationTaskModel._meta.db_table}")


def comparable(obj, shift=timedelta(0)) -> dict:
    """Return ``obj``'s stored values with datetimes moved by ``-shift``, ids and key left out."""
    values = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or field.attname in ("key", "automation_id"):
            continue
        value = getattr(obj, field.attname)
        values[field.attname] = value - shift if isinstance(value, datetime) else value
    return values


def check_copy(template: Template, automation_id: int) -> None:
    """Raise :class:`CheckFailed` unless the copy's rows are the template's, moved in time."""
    row = AutomationModel.objects.get(pk=automation_id)
    shift = row.wake_at - template.row.wake_at
    tasks = list(AutomationTaskModel.objects.filter(automation_id=automation_id).order_by("pk"))
    expected = [comparable(template.row)] + [comparable(task) for task in template.tasks]
    found = [comparable(row, shift)] + [comparable(task, shift) for task in tasks]
    if found != expected:
        raise CheckFailed(f"Instance {automation_id} is not a copy of {template.id}:\n{found}\n{expected}")
