"""Idle steps: ``automation_step`` over many instances that sleep on a future ``AfterWaitingFor``."""

from __future__ import annotations

from django.db import connection

from automations import engine
from automations.models import AutomationModel, AutomationTaskModel
from bench.automations import Sleeper
from bench.measure import CheckFailed, Series, clock_at, count_queries, timed
from bench.population import Template, add_sleepers, check_copy

WOKEN = 5  # sleepers that wake at the end to show the copies behave as the engine's own


def _sleeping():
    return AutomationModel.objects.filter(
        automation_class=Sleeper.get_automation_class_name(), finished=False, error=""
    )


def _idle_sweep():
    counts = AutomationModel.run()
    if counts["advanced"] or counts["skipped"] or counts["errors"]:
        raise CheckFailed(f"An idle sweep found work: {counts}.")
    return counts


def query_plan(sql, params) -> str:
    """Return the database's plan for ``sql`` on one line."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "; ".join(row[-1] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN {sql}", params)
        return " / ".join(" ".join(row[0].split()) for row in cursor.fetchall())


def measure(*, sizes=(1000, 10_000, 100_000), repeats=20) -> dict:
    """Return the idle sweep's time and statements per population size, and the wake-up check."""
    template = Template()
    population = 1
    by_size = {}
    for size in sizes:
        add_sleepers(template, size - population, first_index=population - 1)
        population = size
        if _sleeping().count() != size:
            raise CheckFailed(f"Expected {size} sleeping instances, found {_sleeping().count()}.")
        times = Series()
        for _ in range(repeats):
            times.add(timed(_idle_sweep)[0])
        counter = count_queries(connection, _idle_sweep)[1]
        by_size[size] = {
            "seconds": times,
            "queries": counter.total,
            "plan": query_plan(*counter.statements[0]),
        }
    sample = _sleeping().exclude(pk=template.id).order_by("?").values_list("pk", flat=True)[:3]
    for automation_id in sample:
        check_copy(template, automation_id)
    return {"sizes": by_size, "repeats": repeats, "wake": _wake_the_earliest(template)}


def _history(automation_id):
    return list(
        AutomationTaskModel.objects.filter(automation_id=automation_id)
        .order_by("pk")
        .values_list("status", "message", "result", "path")
    )


def _wake_the_earliest(template) -> dict:
    """Move the clock to the moment the ``WOKEN`` earliest sleepers are due; sweep; check them."""
    earliest = list(_sleeping().order_by("wake_at").values_list("pk", "wake_at")[: WOKEN + 1])
    moment = earliest[WOKEN - 1][1]
    if earliest[WOKEN][1] <= moment:
        raise CheckFailed("The earliest sleepers do not wake one after another.")
    previous = earliest[WOKEN - 2][1]
    with clock_at(previous + (moment - previous) / 2):
        early = AutomationModel.run()
    with clock_at(moment):
        seconds, counts = timed(AutomationModel.run)
    with clock_at(template.row.wake_at):
        engine.advance(template.id, due_only=True)
    woken = [pk for pk, _ in earliest[:WOKEN]]
    expected_history = _history(template.id)
    rows = {row.pk: row for row in AutomationModel.objects.filter(pk__in=[*woken, earliest[WOKEN][0]])}
    problems = []
    if early["advanced"] != WOKEN - 1:
        problems.append(f"a sweep just before the {WOKEN}th wake time advanced {early}")
    if counts["advanced"] != 1 or counts["finished"] != 1:
        problems.append(f"the sweep at the {WOKEN}th wake time advanced {counts}")
    for pk in woken:
        row = rows[pk]
        if not row.finished or row.data != {"started": 1, "woke": 1} or _history(pk) != expected_history:
            problems.append(f"instance {pk} did not wake like the engine's own: {row.data} {_history(pk)}")
    after = rows[earliest[WOKEN][0]]
    if after.finished or after.wake_at != earliest[WOKEN][1] or after.data != {"started": 1}:
        problems.append(f"instance {after.pk} woke before its time")
    if problems:
        raise CheckFailed("; ".join(problems))
    return {"woken": WOKEN, "history": [status for status, *_ in expected_history], "seconds": seconds}
