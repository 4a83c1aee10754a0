"""Flow control across 4 real ``automation_worker`` processes on PostgreSQL and Redis.

``MeteredCall`` (tests/testapp/automations.py) allows three calls per customer at once; each call
counts itself in Redis while it runs (0.3 s) and notes how many ran at that moment. Four workers
take 30 instances of two customers: no customer ever has more than three calls running, every
instance finishes, every call ran once, and more than one worker did the work. ``MeteredInstance`` does
the same for a class's ``Meta.concurrency`` (two active instances per customer).

Needs ``DATABASE_URL`` to point to PostgreSQL and ``REDIS_URL`` to Redis; skips otherwise, and
fails instead when ``ATM_REQUIRE_SERVICES=1``.
"""

import os
import time
import uuid

import pytest
from django.utils import timezone

from automations import events
from automations.models import AutomationModel, FlowTicket
from tests.testapp.automations import MeteredCall, MeteredInstance
from tests.testapp.models import NodeEffect
from tests.worker_processes import require_postgres_and_redis, workers_on_own_channel

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

INSTANCES = 30
DEADLINE = 30  # seconds for every instance to finish; they need about 3 (MeteredInstance: 5)


@pytest.fixture(autouse=True)
def services():
    require_postgres_and_redis()


@pytest.fixture
def workers(settings, tmp_path):
    with workers_on_own_channel(settings, tmp_path, "limits") as running:
        yield running


@pytest.mark.parametrize(("automation", "limit"), [(MeteredCall, 3), (MeteredInstance, 2)])
def test_a_limit_holds_across_4_workers(workers, automation, limit):
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    run = f"limits-{uuid.uuid4().hex[:12]}"
    for index in range(4):
        workers.start(index)
    workers.wait_until_listening()
    customers = ["acme", "globex"]
    ids = [automation(autorun=False, run=run, customer=customers[n % 2], n=n).id for n in range(INSTANCES)]
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=timezone.now())
    for pk in ids:
        events.publish(events.wake_event(pk))
    deadline = time.monotonic() + DEADLINE
    instances = AutomationModel.objects.filter(pk__in=ids)
    while instances.filter(finished=True).count() < INSTANCES:
        workers.assert_running()
        assert not instances.exclude(error="").exists(), list(instances.values_list("error", flat=True))
        assert time.monotonic() < deadline, f"not finished in {DEADLINE} s: {progress(ids)}\n{workers.logs()}"
        time.sleep(0.1)
    try:
        for customer in customers:
            seen = [int(value) for value in client.lrange(f"{run}:{customer}:seen", 0, -1)]
            assert len(seen) == INSTANCES // 2
            assert max(seen) <= limit, seen  # never more than the limit at once
    finally:
        client.delete(*[f"{run}:{customer}{end}" for customer in customers for end in ("", ":seen")])
    assert NodeEffect.objects.filter(automation_id__in=ids).count() == INSTANCES
    assert not FlowTicket.objects.filter(released=None).exists()
    assert len(set(NodeEffect.objects.values_list("worker", flat=True))) > 1  # the workers shared the work


def progress(ids):
    instances = AutomationModel.objects.filter(pk__in=ids)
    return {
        "statuses": sorted(instances.values_list("status", "wake_at")),
        "tickets": list(FlowTicket.objects.values_list("automation_id", "admitted", "released")),
        "effects": NodeEffect.objects.count(),
    }
