"""The sweep finds due instances through the ``wake_at`` index, earliest first, in batches."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from automations import engine, flow
from automations.flow import this
from automations.models import AutomationModel

pytestmark = pytest.mark.django_db

ran = []


class Recorder(flow.Automation):
    record = flow.Execute(this.remember)
    end = flow.End()

    def remember(self, task):
        ran.append(self.id)


def due_query():
    """Return ``(sql, params)`` of the first statement of a sweep with nothing due."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        assert engine.sweep()["advanced"] == 0
    return statements[0]


def test_the_due_query_searches_the_wake_at_index_instead_of_walking_the_table():
    sql, params = due_query()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(row[-1] for row in cursor.fetchall())
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty test table is no guide
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
    assert re.search(r"index( scan)?( using| on)? \S*wake_at", plan, re.IGNORECASE), plan
    assert "PRIMARY KEY" not in plan and "_pkey" not in plan, plan


def test_a_sweep_runs_every_due_instance_once_earliest_first_across_batches():
    ran.clear()
    base = datetime(2020, 1, 1, tzinfo=UTC)
    instances = [Recorder(autorun=False) for _ in range(7)]
    wake_times = [3, 1, 2, 1, 3, 0, 2]  # ties, so that batches must break them by id
    for instance, minutes in zip(instances, wake_times, strict=True):
        AutomationModel.objects.filter(pk=instance.id).update(wake_at=base + timedelta(minutes=minutes))
    not_due = Recorder(autorun=False)
    AutomationModel.objects.filter(pk=not_due.id).update(wake_at=datetime(2999, 1, 1, tzinfo=UTC))

    counts = engine.sweep(batch_size=2)

    expected = [
        i.id for _, i in sorted(zip(wake_times, instances, strict=True), key=lambda p: (p[0], p[1].id))
    ]
    assert ran == expected
    assert counts == {"advanced": 7, "finished": 7, "errors": 0, "skipped": 0, "postponed": 0}
    assert not AutomationModel.objects.get(pk=not_due.id).finished
