"""Throughput: 200 instances of ten ``Execute`` nodes and an ``End``, and the SQL they cost."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from automations.models import AutomationModel, AutomationTaskModel
from bench.automations import EndOnly, TenSavingSteps, TenSteps
from bench.measure import CheckFailed, Series, count_queries, cpu_timed

EXECUTE_NODES = 10
NODES = EXECUTE_NODES + 1  # and the End
TOTAL = sum(range(1, EXECUTE_NODES + 1))


def check_finished(instances, nodes=NODES, total=TOTAL):
    """Raise :class:`CheckFailed` unless every instance finished with one finished task per node."""
    ids = [instance.id for instance in instances]
    rows = AutomationModel.objects.filter(pk__in=ids)
    bad = [row.pk for row in rows if not row.finished or row.error or row.data.get("total") != total]
    if len(rows) != len(ids) or bad:
        raise CheckFailed(f"{len(bad)} instance(s) did not finish as expected, e.g. {bad[:3]}.")
    tasks = AutomationTaskModel.objects.filter(automation__in=ids)
    if tasks.count() != nodes * len(ids) or tasks.filter(finished=None).exists():
        raise CheckFailed(f"Expected {nodes * len(ids)} finished tasks, found {tasks.count()}.")


def _due_instances(count):
    """Return ``count`` new ``TenSteps`` instances that have not run yet and are due now."""
    instances = [TenSteps(autorun=False) for _ in range(count)]
    ids = [instance.id for instance in instances]
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=timezone.now())
    return instances


def measure(*, instances=200, runs=5) -> dict:
    """Return nodes/s started in place and run by the sweep, and SQL statements per node."""
    nodes = instances * NODES
    in_place, swept, in_place_cpu, swept_cpu = Series(), Series(), Series(), Series()
    for _ in range(runs):
        seconds, cpu, started = cpu_timed(lambda: [TenSteps() for _ in range(instances)])
        check_finished(started)
        in_place.add(nodes / seconds)
        in_place_cpu.add(nodes / cpu)

        pending = _due_instances(instances)
        seconds, cpu, counts = cpu_timed(AutomationModel.run)
        if counts["advanced"] != instances or counts["finished"] != instances:
            raise CheckFailed(f"The sweep advanced {counts}, expected {instances} finished instances.")
        check_finished(pending)
        swept.add(nodes / seconds)
        swept_cpu.add(nodes / cpu)

    ten = count_queries(connection, lambda: [TenSteps() for _ in range(instances)])[1]
    saving = count_queries(connection, lambda: [TenSavingSteps() for _ in range(instances)])[1]
    end_only = count_queries(connection, lambda: [EndOnly() for _ in range(instances)])[1]
    pending = _due_instances(instances)
    sweep = count_queries(connection, AutomationModel.run)[1]
    check_finished(pending)
    executes = instances * EXECUTE_NODES
    return {
        "instances": instances,
        "nodes": nodes,
        "runs": runs,
        "in_place": in_place,
        "swept": swept,
        "in_place_cpu": in_place_cpu,
        "swept_cpu": swept_cpu,
        "per_execute": (ten.total - end_only.total) / executes,
        "per_execute_saving": (saving.total - end_only.total) / executes,
        "per_node": ten.total / nodes,
        "per_node_swept": sweep.total / nodes,
        "per_instance": {kind: count / instances for kind, count in sorted(ten.kinds.items())},
        "per_instance_end_only": {kind: count / instances for kind, count in sorted(end_only.kinds.items())},
    }
