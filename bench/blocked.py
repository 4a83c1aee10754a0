"""Blocked steps: ``automation_step`` with 1,000 instances waiting on an ``AsSoonAs`` that is false."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection

from automations import settings as atm_settings
from automations.models import AutomationModel
from bench.automations import Blocked
from bench.measure import CheckFailed, Series, clock_shifted, count_queries, timed

UNBLOCKED = 3  # instances whose condition turns true at the end, to show the re-check works


def _blocked():
    return AutomationModel.objects.filter(
        automation_class=Blocked.get_automation_class_name(), finished=False, error=""
    )


def _sweep(expected_advanced):
    counts = AutomationModel.run()
    rechecked = counts["advanced"] + counts["postponed"]
    if rechecked != expected_advanced or counts["finished"] or counts["errors"]:
        raise CheckFailed(f"Expected a sweep to re-check {expected_advanced} instances, it did {counts}.")
    return counts


def measure(*, instances=1000, repeats=20, recheck_repeats=3) -> dict:
    """Return the sweep's time and statements while blocked, and when the re-check falls due."""
    created_seconds, blocked = timed(lambda: [Blocked() for _ in range(instances)])
    if _blocked().count() != instances or any(instance.run().name != "wait" for instance in blocked[:3]):
        raise CheckFailed("The Blocked instances do not wait at their AsSoonAs node.")

    between = Series()
    for _ in range(repeats):
        between.add(timed(lambda: _sweep(0))[0])
    between_queries = count_queries(connection, lambda: _sweep(0))[1].total

    interval = atm_settings.condition_recheck_interval()
    recheck = Series()
    shift = timedelta(0)
    for _ in range(recheck_repeats):
        shift += interval + timedelta(seconds=1)
        with clock_shifted(shift):
            recheck.add(timed(lambda: _sweep(instances))[0])
    shift += interval + timedelta(seconds=1)
    with clock_shifted(shift):
        recheck_counter = count_queries(connection, lambda: _sweep(instances))[1]

    ready = [instance.id for instance in blocked[:UNBLOCKED]]
    for automation_id in ready:  # the condition's world changes behind the instances' backs
        model = AutomationModel.objects.get(pk=automation_id)
        model.data["ready"] = True
        AutomationModel.objects.filter(pk=automation_id).update(data=model.data)
    with clock_shifted(shift):
        _sweep(0)  # not yet: the re-check is not due
    shift += interval + timedelta(seconds=1)
    with clock_shifted(shift):
        counts = AutomationModel.run()
    still = _blocked().count()
    finished = AutomationModel.objects.filter(pk__in=ready, finished=True).count()
    if counts["finished"] != UNBLOCKED or finished != UNBLOCKED or still != instances - UNBLOCKED:
        raise CheckFailed(
            f"After {UNBLOCKED} conditions turned true the re-check did {counts}; {still} wait."
        )
    return {
        "instances": instances,
        "created_seconds": created_seconds,
        "interval": interval,
        "between": between,
        "between_queries": between_queries,
        "recheck": recheck,
        "recheck_queries": recheck_counter.total,
        "recheck_kinds": dict(sorted(recheck_counter.kinds.items())),
        "unblocked": UNBLOCKED,
    }
