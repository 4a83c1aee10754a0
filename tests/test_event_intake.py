"""The worker's event intake: bad input never silences it, effectful events are stored and applied once.

Runs on the channel layer of the settings: in-memory, or Redis in the PostgreSQL + Redis runs.
"""

import asyncio
import contextlib
import io
import logging
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

import automations.worker.database as worker_database
from automations import engine, events, publisher
from automations import settings as atm_settings
from automations.events import confirming, inbox, publishing
from automations.models import AutomationModel, InboxEvent, WorkerModel
from automations.worker import Scheduler, SchedulerFailedError
from tests.test_scheduler import finished, running, until
from tests.testapp.automations import EffectChain, Napper

pytestmark = pytest.mark.django_db(transaction=True)

NAPPER = Napper.get_automation_class_name()
db = database_sync_to_async


@pytest.fixture
def channel(settings):
    """A channel of the test's own, so that nothing left over elsewhere reaches its worker."""
    settings.ATM_CHANNEL_NAME = f"automations.test-intake.{uuid.uuid4().hex[:12]}"
    return settings.ATM_CHANNEL_NAME


@pytest.fixture
async def worker(channel):
    async with running(Scheduler(sweep_interval=3600)) as scheduler:
        yield scheduler


def visit(napper_id, event_id, room=1):
    return {"type": events.MESSAGE, "automation": napper_id, "message": "visit", "token": "hall",
            "data": {"room": room}, "id": event_id}  # fmt: skip


def visits(napper_id):
    return len(AutomationModel.objects.get(pk=napper_id).data.get("visits", []))


# -- events that silenced a worker ------------------------------------------------------------------

DEAFENING = [
    {"type": "automation.message", "automation": "²", "message": "visit", "id": "superscript"},
    {"type": "automation.wake", "automation": 35, "at": "2030-02-30T10:00:00"},
    {"type": "automation.wake", "automation": "𝟙"},
    {"type": "automation.message", "automation": "𝟙", "message": "wake_up", "id": "math-digit"},
    {"type": "automation.start\nFORGED LOG LINE", "automation_class": "x" * 5_000_000, "id": "y" * 1000},
    {"type": "automation.message", "automation": 2**70, "message": "wake_up", "id": "huge"},
    {"type": "automation.message", "automation": 1, "message": "wake_up", "id": "nul", "token": "a\x00"},
    {"type": "automation.wake", "automation": 1, "at": "9999-12-31T23:59:59-01:00"},
]


async def test_no_event_silences_the_listener(worker, caplog):
    first = await db(Napper)(seconds=60, sleepy=True)
    layer = worker.channel_layer
    for event in DEAFENING:
        with contextlib.suppress(Exception):  # Redis refuses some outright; that is the sender's error
            await layer.send(worker.channel, event)
    napper = await db(Napper)(seconds=0, sleepy=True)
    await events.apublish({"type": "automation.message", "automation": napper.id, "message": "wake_up"})
    await until(finished(napper.id))
    assert not await db(first.finished)()  # neither "²" nor "𝟙" was read as an id
    assert "visits" not in (await db(AutomationModel.objects.get)(pk=first.id)).data
    assert worker.services() and all(task.done() is False for task in worker.services().values())
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and len(message) < 2000, message[:300]


def test_references_are_ascii_digits_or_keys():
    with pytest.raises(AutomationModel.DoesNotExist):
        AutomationModel.objects.get_by_reference("²")
    with pytest.raises(AutomationModel.DoesNotExist):
        AutomationModel.objects.get_by_reference(2**70)
    napper = Napper(seconds=60)
    assert AutomationModel.objects.get_by_reference(str(napper.id)).pk == napper.id
    with pytest.raises(events.InvalidEventError, match="'automation' must be a positive instance id"):
        events.validate({"type": "automation.wake", "automation": "𝟙"})
    with pytest.raises(events.InvalidEventError, match="ISO 8601"):
        events.publish({"type": "automation.wake", "automation": 35, "at": "2030-02-30T10:00:00"})


async def test_a_task_that_ends_is_restarted(worker):
    listener = worker.services()["listener"]
    listener.cancel()
    for _ in range(500):  # the restart comes after a tenth of a second; five seconds at most
        if worker.services().get("listener") not in (None, listener):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the listener was not restarted within 5 s")
    napper = await db(Napper)(seconds=0, sleepy=True)
    await events.apublish({"type": "automation.message", "automation": napper.id, "message": "wake_up"})
    await until(finished(napper.id))


async def test_a_task_that_keeps_failing_stops_the_worker_with_an_error(settings, channel, monkeypatch):
    async def broken(self):
        raise RuntimeError("cannot listen")

    monkeypatch.setattr(Scheduler, "_listen", broken)
    settings.ATM_MAX_RESTARTS = 2
    worker = Scheduler(sweep_interval=3600)
    with pytest.raises(SchedulerFailedError, match="cannot listen"):
        await asyncio.wait_for(worker.arun(), 10)


def test_automation_worker_exits_non_zero_when_its_tasks_keep_failing(monkeypatch):
    async def broken(self, **options):
        raise SchedulerFailedError("the listener task kept ending")

    monkeypatch.setattr(Scheduler, "arun", broken)
    monkeypatch.setattr(django_settings, "ATM_WORKER", False)  # the command sets it for its process
    kept = {alias: dict(connections[alias].settings_dict) for alias in connections}
    try:
        with pytest.raises(CommandError, match="the listener task kept ending") as failure:
            call_command("automation_worker", "--sweep-interval", "3600", stdout=io.StringIO())
    finally:
        for alias, settings_dict in kept.items():
            connections[alias].settings_dict.update(settings_dict)
    assert failure.value.returncode == 1  # what the process exits with


# -- ids, duplicates, receipts ------------------------------------------------------------------------


async def test_an_effectful_event_without_an_id_is_rejected_with_a_receipt(worker, caplog):
    napper = await db(Napper)(seconds=60)
    reply = await worker.channel_layer.new_channel("test.receipt.")
    event = {**visit(napper.id, None), "reply_channel": reply}
    del event["id"]
    await worker.channel_layer.send(worker.channel, event)
    receipt = await asyncio.wait_for(worker.channel_layer.receive(reply), 5)
    assert receipt["accepted"] is False
    assert receipt["error"].startswith("An automation.message event needs id.")
    assert await db(visits)(napper.id) == 0
    assert "Invalid event dropped (type 'automation.message', id None)" in caplog.text


async def test_an_event_delivered_three_times_is_applied_once(worker):
    napper = await db(Napper)(seconds=60)
    last = await db(Napper)(seconds=60)
    for _ in range(3):
        await worker.channel_layer.send(worker.channel, visit(napper.id, "visit-once"))
    await worker.channel_layer.send(worker.channel, visit(napper.id, "visit-other"))
    await worker.channel_layer.send(worker.channel, visit(last.id, "visit-last"))
    # An instance's events are applied in order: the duplicates are behind its second visit.
    await until(lambda: visits(last.id) == 1 and visits(napper.id) == 2)
    await until(lambda: not worker._lanes)  # the lanes are done with every event
    assert await db(visits)(napper.id) == 2
    assert await db(InboxEvent.objects.exclude(pk="visit-last").count)() == 2


async def test_confirmed_publish_returns_once_the_event_is_stored(worker):
    napper = await db(Napper)(seconds=60)
    event_id = await events.apublish(visit(napper.id, "confirmed-1"), confirm=True, timeout=10)
    assert event_id == "confirmed-1"
    assert await db(InboxEvent.objects.filter(pk="confirmed-1").exists)()
    await until(lambda: visits(napper.id) == 1)


async def test_confirmed_publish_retries_a_full_channel(worker, monkeypatch):
    napper = await db(Napper)(seconds=60)
    # The layer confirmed publishes send with: this loop's, or (channels-redis) the publishing loop's.
    layer = get_channel_layer() if confirming.runs_here() else publisher.channel_layer()
    send, refusals = layer.send, []

    async def full_twice(channel, message):
        if channel == worker.channel and len(refusals) < 2:
            refusals.append(message["id"])
            raise ChannelFull()
        await send(channel, message)

    monkeypatch.setattr(layer, "send", full_twice)
    await events.apublish(visit(napper.id, "after-full"), confirm=True, timeout=10)
    assert refusals == ["after-full", "after-full"]
    await until(lambda: visits(napper.id) == 1)


async def test_confirmed_publish_without_a_worker_times_out(channel):
    napper = await db(Napper)(seconds=60)
    with pytest.raises(events.EventNotConfirmedError, match="not confirmed within 1.5 s"):
        await events.apublish(visit(napper.id, "nobody-listens"), confirm=True, timeout=1.5)


async def test_confirmed_publish_of_a_refused_event_raises_its_reason(worker, monkeypatch):
    monkeypatch.setattr(publishing, "checked", events.with_id)  # a publisher without the site's registry
    refused = {"type": "automation.start", "automation_class": "elsewhere.Gone", "id": "gone-1"}
    with pytest.raises(events.InvalidEventError, match="is not a registered automation class"):
        await events.apublish(refused, confirm=True, timeout=5)


def test_a_failing_event_is_rolled_back_retried_and_given_up(monkeypatch):
    napper = Napper(seconds=60)
    calls = []

    def receive_visit(self, token, data):
        self.data["half-done"] = True
        calls.append(token)
        raise RuntimeError("receiver broke")

    monkeypatch.setattr(Napper, "receive_visit", receive_visit)
    inbox.accept([visit(napper.id, "breaks")])
    attempts = atm_settings.get("ATM_EVENT_ATTEMPTS")
    outcomes = [inbox.apply("breaks") for _ in range(attempts + 1)]
    assert outcomes == [InboxEvent.FAILED] * attempts + [None]
    row = InboxEvent.objects.get(pk="breaks")
    assert (row.outcome, row.attempts) == (InboxEvent.FAILED, attempts)
    assert row.handled is not None and "RuntimeError: receiver broke" in row.error
    assert "half-done" not in AutomationModel.objects.get(pk=napper.id).data
    assert len(calls) == attempts


def test_an_event_whose_instance_is_gone_is_rejected_with_the_reason():
    inbox.accept([visit(999_999, "gone")])
    assert inbox.apply("gone") == InboxEvent.REJECTED
    assert InboxEvent.objects.get(pk="gone").error == "No automation instance 999999."


# -- a dead worker's events and timers --------------------------------------------------------------


def stale_worker(name):
    WorkerModel.objects.create(name=name, seen=timezone.now() - timedelta(minutes=5))


async def heartbeats(worker, count):
    """Wait until ``worker`` has recorded ``count`` more heartbeats, each a chance to take over."""
    seen = set()

    def beaten():
        seen.add(WorkerModel.objects.get(name=worker.name).seen)
        return len(seen) > count

    await until(beaten)


async def test_events_stored_by_a_dead_worker_are_applied_by_another(settings, channel, monkeypatch):
    settings.ATM_HEARTBEAT_INTERVAL = 0.05
    napper = await db(Napper)(seconds=60)
    async with running(Scheduler(sweep_interval=3600)) as worker:
        await db(WorkerModel.objects.create)(name="gone-worker")  # alive when it stored the event
        await db(inbox.accept)([visit(napper.id, "orphan")], worker="gone-worker")
        await heartbeats(worker, 3)
        assert await db(visits)(napper.id) == 0  # its owner may still apply it
        gone = WorkerModel.objects.filter(name="gone-worker")
        await db(gone.update)(seen=timezone.now() - timedelta(minutes=1))
        took = await until(lambda: visits(napper.id) == 1, timeout=5)
        assert took < 2 and worker.stats["takeovers"] == 1
        await until(lambda: not WorkerModel.objects.filter(name="gone-worker").exists())  # released


async def test_a_dead_workers_timers_fire_within_seconds_not_at_the_next_sweep(
    settings, channel, monkeypatch
):
    settings.ATM_HEARTBEAT_INTERVAL = 0.05
    async with running(Scheduler(sweep_interval=3600)):
        chain = await db(EffectChain)(autorun=False)  # due now, armed only in the dead worker's timer
        await db(stale_worker)("killed-worker")
        await db(AutomationModel.objects.filter(pk=chain.id).update)(wake_at=timezone.now())
        assert await until(finished(chain.id), timeout=5) < 2


async def test_an_instance_falling_due_during_a_sweep_is_armed(channel, monkeypatch):
    late = await db(EffectChain)(autorun=False)
    sweep = engine.sweep

    def sweep_while_it_falls_due(**options):
        counts = sweep(**options)
        AutomationModel.objects.filter(pk=late.id).update(wake_at=timezone.now())
        return counts

    monkeypatch.setattr(engine, "sweep", sweep_while_it_falls_due)
    async with running(Scheduler(sweep_interval=3600)) as worker:
        await until(finished(late.id), timeout=3)
        assert worker.stats["sweeps"] == 1


async def test_a_stopping_worker_signs_off_so_that_others_take_over_at_once(channel):
    async with running(Scheduler(sweep_interval=3600)) as worker:
        name = worker.name
        assert await db(WorkerModel.objects.filter(name=name).exists)()
    seen = await db(WorkerModel.objects.values_list("seen", flat=True).get)(name=name)
    assert seen < timezone.now() - worker_database.worker_timeout()


# -- without a worker -------------------------------------------------------------------------------


def test_automation_step_takes_events_from_the_channel_and_applies_stored_ones(channel):
    waiting, stored = Napper(seconds=60), Napper(seconds=60)
    events.publish(visit(waiting.id, "from-the-channel"))
    inbox.accept([visit(stored.id, "stored-earlier")], worker="")
    call_command("automation_step", stdout=(out := io.StringIO()))
    assert visits(waiting.id) == 1 and visits(stored.id) == 1
    assert "Took 1 event(s) from the channel; applied 2 stored event(s), 0 rejected, 0 failed." in (
        out.getvalue()
    )


def test_a_bad_log_value_stays_on_one_bounded_line(caplog):
    caplog.set_level(logging.WARNING)
    worker = Scheduler()
    async_to_sync(worker.dispatch)({"type": "automation.start\nforged", "id": "z" * 10_000})
    (record,) = [r for r in caplog.records if r.name == "automations.scheduler"]
    assert "\n" not in record.getMessage() and len(record.getMessage()) < 1000


def test_a_dead_worker_is_claimed_once_and_again_if_its_claimant_dies_too():
    stale_worker("dead")
    assert worker_database.heartbeat("first") == ["dead"]
    assert worker_database.heartbeat("second") == []  # claimed: "first" is taking over
    WorkerModel.objects.filter(name__in=["dead", "first"]).update(seen=timezone.now() - timedelta(minutes=1))
    assert sorted(worker_database.heartbeat("second")) == ["dead", "first"]  # "first" died mid-way
    worker_database.forget_workers(["dead", "first"])
    assert list(WorkerModel.objects.values_list("name", flat=True)) == ["second"]
