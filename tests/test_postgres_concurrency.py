"""The engine on PostgreSQL: row locks, and two real ``automation_step`` processes at once.

These tests need ``DATABASE_URL`` to point to PostgreSQL; they skip otherwise, and fail instead
when ``ATM_REQUIRE_SERVICES=1``.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from automations import engine, history
from automations.models import AutomationModel
from tests.helpers import require_postgres
from tests.testapp.automations import EffectChain
from tests.testapp.models import Counter, NodeEffect

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = 200
NODES_WITH_EFFECTS = 5
PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


@pytest.fixture(autouse=True)
def postgresql():
    require_postgres()


def other_connection():
    """Return a second, independent connection to the test database."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )


def test_an_instance_locked_by_another_worker_is_skipped_not_waited_for():
    automation = EffectChain(autorun=False)
    AutomationModel.objects.filter(pk=automation.id).update(wake_at=timezone.now())
    with other_connection() as holder:
        holder.execute("SELECT id FROM automations_automationmodel WHERE id = %s FOR UPDATE", [automation.id])
        assert engine.advance(automation.id, skip_locked=True).skipped
        assert engine.sweep() == {"advanced": 0, "finished": 0, "errors": 0, "skipped": 1, "postponed": 0}
        assert NodeEffect.objects.count() == 0
    assert engine.sweep()["finished"] == 1
    assert NodeEffect.objects.count() == NODES_WITH_EFFECTS


def test_the_unique_running_constraint_holds_on_postgresql():
    from django.db import IntegrityError

    first = AutomationModel.objects.create(automation_class="x.Y", unique_key="k")
    AutomationModel.objects.create(automation_class="x.Y", unique_key="k", finished=True, status="finished")
    AutomationModel.objects.create(automation_class="x.Y", unique_key="k", error="stopped", status="failed")
    AutomationModel.objects.create(automation_class="x.Y", unique_key="k", status="cancelled")
    with pytest.raises(IntegrityError):
        AutomationModel.objects.create(automation_class="x.Y", unique_key="k")
    assert first.pk


def blocked_backends(conn) -> int:
    conn.execute("SELECT pg_stat_clear_snapshot()")  # activity is otherwise frozen within a transaction
    return conn.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    ).fetchone()[0]


def test_two_step_processes_run_every_node_exactly_once():
    instances = [EffectChain(autorun=False) for _ in range(INSTANCES)]
    AutomationModel.objects.update(wake_at=timezone.now())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "ATM_TEST_USE_TEST_DB": "1",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "manage.py", "automation_step"]
    workers = []
    try:
        with other_connection() as gate:
            # Both processes block on their first query until both are ready, so they sweep at once.
            gate.execute("LOCK TABLE automations_automationmodel IN ACCESS EXCLUSIVE MODE")
            workers = [subprocess.Popen(command, cwd=ROOT, env=env, **PIPES) for _ in range(2)]
            deadline = time.monotonic() + 60
            while blocked_backends(gate) < 2:
                assert all(worker.poll() is None for worker in workers), [w.communicate() for w in workers]
                assert time.monotonic() < deadline, "the step processes did not reach the database"
                time.sleep(0.05)
        outputs = [worker.communicate(timeout=300) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    advanced = [int(out.split()[1]) for out, _ in outputs]
    assert sum(advanced) == INSTANCES, outputs
    assert NodeEffect.objects.count() == INSTANCES * NODES_WITH_EFFECTS
    assert Counter.get("effects") == INSTANCES * NODES_WITH_EFFECTS
    assert (
        AutomationModel.objects.filter(pk__in=[i.id for i in instances], finished=True).count() == INSTANCES
    )
    assert not AutomationModel.objects.exclude(error="").exists()


def test_deleting_history_skips_the_instances_another_worker_holds():
    ids = [EffectChain().id for _ in range(3)]
    assert AutomationModel.objects.filter(pk__in=ids, status=AutomationModel.Status.FINISHED).count() == 3
    cutoff = timezone.now() + timedelta(seconds=1)
    with other_connection() as holder:
        holder.execute("SELECT id FROM automations_automationmodel WHERE id = %s FOR UPDATE", [ids[0]])
        batch = history.delete_batch(AutomationModel.objects.finished_before(cutoff), 10)
        assert (batch.chosen, batch.rows) == (2, 2)
    assert list(AutomationModel.objects.values_list("pk", flat=True)) == [ids[0]]
