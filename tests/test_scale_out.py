"""Two real ``automation_worker`` processes on PostgreSQL and Redis: every node runs exactly once.

The test process publishes events on a channel of its own; the workers compete for them, keep the
timers and sweep every 2 seconds. ``FanOutAndWait`` mixes a split and a join, a one-second timer and
a message; each of its ``Execute`` nodes writes a ``NodeEffect`` whose unique constraint stops an
instance whose node ran twice.

On a channel shared by several consumers channels-redis may hand one event to two of them (a
receiving worker puts the other's in-flight event back into the channel): wake-ups are safe to
handle twice, and the message and start events that ``events.publish`` sends carry ids, which
the workers handle once. The ``note`` receiver is idempotent and a start event names its
``unique`` instance as well, as the documentation recommends.

These tests need ``DATABASE_URL`` to point to PostgreSQL and ``REDIS_URL`` to Redis; they skip
otherwise, and fail instead when ``ATM_REQUIRE_SERVICES=1``.
"""

import asyncio
import time
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from django.utils import timezone

from automations import events
from automations.models import AutomationModel
from tests.testapp.automations import FanOutAndWait
from tests.testapp.models import NodeEffect
from tests.worker_processes import Workers, require_postgres_and_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CLASS_PATH = FanOutAndWait.get_automation_class_name()
EFFECTS = len(FanOutAndWait.effect_nodes)
DEADLINE = 90  # seconds for all instances to finish; they need about 10


@pytest.fixture(autouse=True)
def services():
    require_postgres_and_redis()


@pytest.fixture
def channel(settings):
    """A channel of this test's own, so that events left over elsewhere never reach its workers."""
    settings.ATM_CHANNEL_NAME = f"automations.test-scale-out.{uuid.uuid4().hex[:12]}"
    return settings.ATM_CHANNEL_NAME


@pytest.fixture
def workers(channel, tmp_path):
    running = Workers(channel, tmp_path)
    try:
        yield running
    finally:
        running.stop()


# -- publishing -----------------------------------------------------------------------------------


def wake(automation_id):
    return events.wake_event(automation_id)


def note(automation_id):
    return {"type": events.MESSAGE, "automation": automation_id, "message": "note", "token": "t"}


def start(index):
    data = {"note": "given", "n": f"started-{index}"}
    return {"type": events.START, "automation_class": CLASS_PATH, "data": data}


def publish_each(batch):
    """Publish every event with :func:`events.publish`, one ``async_to_sync`` call each."""
    for event in batch:
        events.publish(event)


def publish_burst(batch, *, retry_full: bool) -> int:
    """Publish ``batch`` as fast as one event loop can; return how many sends found the channel full.

    With ``retry_full`` a send that finds the channel full is retried until it goes through (what a
    service does for messages); otherwise the event is dropped.
    """

    async def send_all():
        full = 0
        for event in batch:
            while True:
                try:
                    await events.apublish(event)
                    break
                except ChannelFull:
                    full += 1
                    if not retry_full:
                        break
                    await asyncio.sleep(0.02)
        return full

    return async_to_sync(send_all)()


# -- waiting and checking ---------------------------------------------------------------------------


def created(count):
    return [FanOutAndWait(autorun=False, n=f"created-{n}").id for n in range(count)]


def mark_due(ids):
    """Make the instances due now, as ``instances.wake`` does, so that sweeps find them if events are lost."""
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=timezone.now())


def instances():
    return AutomationModel.objects.filter(automation_class=CLASS_PATH)


def wait_until_finished(workers, expected, *, resend_notes_every=None):
    """Poll the database until ``expected`` instances finished; re-send unreceived notes if asked.

    Re-sending is what a service does for a message that may have been lost with a worker: the
    receiver is idempotent, and the events contract delivers messages at most once.
    """
    deadline = time.monotonic() + DEADLINE
    resent_at = time.monotonic()
    while instances().filter(finished=True).count() < expected:
        workers.assert_running()
        errors = list(instances().exclude(error="").values_list("pk", "error")[:3])
        assert not errors, errors
        assert time.monotonic() < deadline, f"not finished in {DEADLINE} s: {progress()}\n{workers.logs()}"
        if resend_notes_every and time.monotonic() - resent_at > resend_notes_every:
            waiting = instances().filter(finished=False).exclude(data__has_key="note")
            publish_burst([note(pk) for pk in waiting.values_list("pk", flat=True)], retry_full=True)
            resent_at = time.monotonic()
        time.sleep(0.2)


def progress():
    return {
        "instances": instances().count(),
        "finished": instances().filter(finished=True).count(),
        "effects": NodeEffect.objects.count(),
    }


def assert_every_effect_exactly_once(expected_instances):
    assert instances().count() == expected_instances
    assert instances().filter(finished=True).count() == expected_instances
    assert not instances().exclude(error="").exists()
    assert NodeEffect.objects.count() == expected_instances * EFFECTS
    per_instance = NodeEffect.objects.values_list("automation_id", "node")
    assert len(set(per_instance)) == expected_instances * EFFECTS
    assert {node for _, node in per_instance} == set(FanOutAndWait.effect_nodes)


def worker_pids():
    return set(NodeEffect.objects.values_list("worker", flat=True).distinct())


# -- the tests --------------------------------------------------------------------------------------


def test_two_workers_run_500_instances_and_every_node_exactly_once(workers):
    workers.start(0)
    workers.start(1)
    woken = created(400)
    publish_burst([wake(pk) for pk in woken], retry_full=True)
    publish_each([start(n) for n in range(100)])
    publish_burst([note(pk) for pk in woken], retry_full=True)
    wait_until_finished(workers, 500)
    assert_every_effect_exactly_once(500)
    assert worker_pids() == {process.pid for process in workers.processes.values()}


def test_a_worker_killed_mid_flight_loses_nothing_and_repeats_nothing(workers):
    workers.start(0)
    workers.start(1)
    woken = created(200)
    mark_due(woken)
    publish_burst([wake(pk) for pk in woken], retry_full=True)
    deadline = time.monotonic() + DEADLINE
    while NodeEffect.objects.count() < len(woken):  # about a third of the effects there may be
        workers.assert_running()
        assert time.monotonic() < deadline, progress()
        time.sleep(0.02)
    killed = workers.processes[0].pid
    workers.kill(0)
    publish_burst([note(pk) for pk in woken], retry_full=True)
    assert instances().filter(finished=False).exists(), "the kill came too late to hit work in flight"
    time.sleep(0.5)
    workers.start(0)
    wait_until_finished(workers, 200, resend_notes_every=3)
    assert_every_effect_exactly_once(200)
    assert killed in worker_pids()


def test_a_flooded_channel_drops_events_and_sweeps_finish_the_work(workers, settings):
    settings.ATM_WORKER = True  # nice() publishes wake events instead of running in place
    woken = created(200)
    mark_due(woken)
    # 1,600 events for a channel of capacity 1,000 before any worker takes one: the channel fills
    # up whatever the speed of the workers.
    dropped = publish_burst([wake(pk) for pk in woken * 8], retry_full=False)
    workers.start(0)
    workers.start(1)
    for pk in woken:
        FanOutAndWait(automation_id=pk).nice()  # publish_wake logs a full channel, never raises
    publish_burst([note(pk) for pk in woken], retry_full=True)
    wait_until_finished(workers, 200)
    assert_every_effect_exactly_once(200)
    assert dropped > 0, "the channel never filled up"
