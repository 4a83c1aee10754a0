"""The scheduler worker on the in-memory channel layer: events, invalid input, timers, the consumer."""

import asyncio
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.utils import timezone

import automations.worker.database as worker_database
from automations import events
from automations.events.resolution import EventRequest
from automations.models import AutomationModel, AutomationTaskModel
from automations.testing import frozen_clock, scheduler_running
from automations.worker import Scheduler, close_process_scheduler, process_scheduler
from consumers.scheduler import SchedulerConsumer
from tests.testapp.automations import EffectChain, Napper
from tests.testapp.models import NodeEffect

pytestmark = pytest.mark.django_db(transaction=True)

NAPPER = Napper.get_automation_class_name()
db = database_sync_to_async


running = scheduler_running  # run a worker while inside; stop it afterwards


@pytest.fixture
async def scheduler():
    """A running scheduler worker with a fresh in-memory layer; no periodic sweep during a test."""
    layer = get_channel_layer()
    await layer.flush()
    async with running(Scheduler(channel_layer=layer, sweep_interval=3600)) as worker:
        yield worker


def quiet_worker():
    """A scheduler worker on the in-memory layer that sweeps only at its start."""
    return Scheduler(channel_layer=get_channel_layer(), sweep_interval=3600)


async def until(predicate, timeout=5.0):
    """Wait until the sync ``predicate()`` (run on the database thread) is true; return the seconds taken."""
    start = time.monotonic()
    while not await db(predicate)():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true after {timeout} s: {predicate.__doc__ or predicate}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def finished(pk):
    return lambda: AutomationModel.objects.filter(pk=pk, finished=True).exists()


def model(pk):
    return AutomationModel.objects.get(pk=pk)


# -- each event type ------------------------------------------------------------------------------


async def test_start_event_creates_and_runs_an_instance(scheduler):
    await events.apublish({"type": "automation.start", "automation_class": NAPPER, "data": {"seconds": 0}})
    await until(lambda: AutomationModel.objects.filter(automation_class=NAPPER, finished=True).exists())
    instance = await db(AutomationModel.objects.get)(automation_class=NAPPER)
    assert instance.data["seconds"] == 0 and "woke_at" in instance.data


async def test_message_event_by_id_wakes_an_as_soon_as_wait_at_once(scheduler):
    napper = await db(Napper)(seconds=0, sleepy=True)
    assert not await db(napper.finished)()
    await events.apublish({"type": "automation.message", "automation": napper.id, "message": "wake_up"})
    # the condition's own re-check is a minute away: only the message can finish it this fast
    assert await until(finished(napper.id), timeout=2) < 2


async def test_message_event_by_key(scheduler):
    napper = await db(Napper)(seconds=0, sleepy=True)
    key = napper.get_key()
    await events.apublish({"type": "automation.message", "automation": key, "message": "wake_up"})
    await until(finished(napper.id))


async def test_broadcast_event_reaches_every_running_instance(scheduler):
    nappers = [await db(Napper)(seconds=0, sleepy=True) for _ in range(3)]
    await events.apublish({"type": "automation.broadcast", "automation_class": NAPPER, "message": "wake_up"})
    for napper in nappers:
        await until(finished(napper.id))


async def test_create_event_creates_an_instance_for_the_message(scheduler):
    # An event's data goes to the receiver, not into the new instance's data: the instance naps
    # its default two seconds, so the test looks for the message's effect, not for the end.
    await events.apublish(
        {"type": "automation.create", "automation_class": NAPPER, "message": "wake_up", "token": "t",
         "data": {"seconds": 0}}
    )  # fmt: skip
    await until(lambda: AutomationModel.objects.filter(automation_class=NAPPER).exists())
    instance = await db(AutomationModel.objects.get)(automation_class=NAPPER)
    assert instance.data == {"awake": True}


async def test_wake_event_advances_an_instance_now(scheduler):
    chain = await db(EffectChain)(autorun=False)
    await events.apublish(events.wake_event(chain.id))
    await until(finished(chain.id))
    assert await db(NodeEffect.objects.filter(automation_id=chain.id).count)() == 5


async def test_wake_event_with_a_future_time_arms_the_timer():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            chain = await db(EffectChain)(autorun=False)
            at = clock.now + timedelta(seconds=2)
            await db(AutomationModel.objects.filter(pk=chain.id).update)(wake_at=at)
            await events.apublish(events.wake_event(chain.id, at))
            for _ in range(150):  # the event's way through the layer: immediate in memory, longer on Redis
                if worker.next_wake() == at:
                    break
                await asyncio.sleep(0.01)
            assert worker.next_wake() == at
            await clock.aadvance(seconds=1.9)
            assert worker.stats["timers"] == 0
            assert not await db(chain.finished)()
            await clock.aadvance(seconds=0.1)
            await until(finished(chain.id))


async def test_wakes_event_advances_those_due_and_arms_timers_for_the_others():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            now_chain = await db(EffectChain)(autorun=False)
            later_chain = await db(EffectChain)(autorun=False)
            at = clock.now + timedelta(seconds=2)
            await db(AutomationModel.objects.filter(pk=later_chain.id).update)(wake_at=at)
            wakes = [{"automation": now_chain.id}, {"automation": later_chain.id, "at": at.isoformat()}]
            assert await worker.dispatch({"type": events.WAKES, "wakes": wakes}) is True
            await until(finished(now_chain.id))
            assert worker.next_wake() == at and not await db(later_chain.finished)()
            await clock.aadvance(seconds=2)
            await until(finished(later_chain.id))


async def test_page_view_request_is_rebuilt_for_the_receiver(scheduler):
    user = await db(get_user_model().objects.create_user)("ada")
    napper = await db(Napper)(seconds=60)
    await events.apublish(
        {"type": "automation.message", "automation": napper.id, "message": "visit", "token": "hall",
         "request": {"GET": {"room": ["3"]}, "path": "/rooms/", "method": "GET", "user": user.pk}}
    )  # fmt: skip
    await until(lambda: "visits" in model(napper.id).data)
    assert (await db(model)(napper.id)).data["visits"] == [
        {"token": "hall", "room": "3", "user": "ada", "path": "/rooms/"}
    ]


def test_event_request_offers_get_user_path_and_method(django_user_model):
    user = django_user_model.objects.create_user("grace")
    request = EventRequest({"GET": {"a": ["1", "2"]}, "path": "/p/", "method": "GET", "user": user.pk})
    assert request.GET.getlist("a") == ["1", "2"] and request.GET["a"] == "2"
    assert request.user == user and request.path == "/p/" and request.method == "GET"
    assert not EventRequest({}).user.is_authenticated
    with pytest.raises(AttributeError):
        request.GET["b"] = "3"


# -- bad input ------------------------------------------------------------------------------------

INVALID_EVENTS = [
    "not a dict",
    {"no": "type"},
    {"type": "automation.explode", "automation": 1},
    {"type": "automation.wake"},
    {"type": "automation.wake", "automation": "twelve"},
    {"type": "automation.wake", "automation": True},
    {"type": "automation.wake", "automation": 1, "at": "tomorrow"},
    {"type": "automation.wakes"},
    {"type": "automation.wakes", "wakes": []},
    {"type": "automation.wakes", "wakes": {"automation": 1}},
    {"type": "automation.wakes", "wakes": [{"automation": 1}, {"at": "2030-01-07T09:05:00Z"}]},
    {"type": "automation.wakes", "wakes": [{"automation": "1"}]},
    {"type": "automation.wakes", "wakes": [{"automation": 1, "at": "tomorrow"}]},
    {"type": "automation.wakes", "wakes": [{"automation": 1}] * 501},
    {"type": "automation.message", "automation": 1},
    {"type": "automation.message", "automation": 1, "message": "wake_up", "token": 5},
    {"type": "automation.start", "automation_class": "shop.automations.Missing"},
    {"type": "automation.start", "automation_class": NAPPER, "data": [1, 2]},
    {"type": "automation.start", "automation_class": NAPPER, "data": {"automation_id": 1}},
    {"type": "automation.start", "automation_class": NAPPER, "data": {"at": float("nan")}},
    {"type": "automation.broadcast", "automation_class": NAPPER, "message": "dance"},
    {"type": "automation.message", "automation": 1, "message": "visit", "request": {"GET": {"room": 3}}},
]
# Each invalid for the reason it shows, not for a missing id.
INVALID_EVENTS = [{**event, "id": f"bad-{n}"} if isinstance(event, dict) else event
                  for n, event in enumerate(INVALID_EVENTS)]  # fmt: skip


@pytest.mark.parametrize("event", INVALID_EVENTS, ids=repr)
def test_publish_refuses_an_invalid_event(event):
    with pytest.raises(events.InvalidEventError):
        events.publish(event)


async def test_invalid_events_are_logged_and_dropped_and_the_worker_goes_on(scheduler, caplog):
    napper = await db(Napper)(seconds=0, sleepy=True)
    dropped_on_arrival = [
        {"type": "automation.message", "automation": 999999, "message": "wake_up", "id": "a"},
        {"type": "automation.message", "automation": "no-such-key", "message": "wake_up", "id": "b"},
        {"type": "automation.message", "automation": napper.id, "message": "dance", "id": "c"},
        {"type": "automation.message", "automation": napper.id, "message": "visit", "data": {"room": "x"},
         "id": "d"},
        {"type": "automation.message", "automation": napper.id, "message": "visit",
         "request": {"GET": {}, "path": "/", "method": "GET", "user": None}, "id": "e"},
    ]  # fmt: skip
    layer = scheduler.channel_layer
    for event in [*INVALID_EVENTS, *dropped_on_arrival]:
        await layer.send(scheduler.channel, event) if isinstance(event, dict) else None
    await scheduler.dispatch("not a dict")
    await events.apublish({"type": "automation.message", "automation": napper.id, "message": "wake_up"})
    await until(finished(napper.id))
    dict_events = [event for event in INVALID_EVENTS if isinstance(event, dict)]
    assert scheduler.stats["invalid"] == len(dict_events) + 1 + len(dropped_on_arrival)
    assert scheduler.stats["failed"] == 0
    assert "visits" not in (await db(model)(napper.id)).data
    assert "No automation instance 999999" in caplog.text


async def test_a_failing_receiver_is_logged_and_the_worker_goes_on(scheduler, monkeypatch, caplog):
    def receive_wake_up(self, token, data):
        raise RuntimeError("boom")

    monkeypatch.setattr(Napper, "receive_wake_up", receive_wake_up)
    napper = await db(Napper)(seconds=0, sleepy=True)
    await events.apublish({"type": "automation.message", "automation": napper.id, "message": "wake_up"})
    chain = await db(EffectChain)(autorun=False)
    await events.apublish(events.wake_event(chain.id))
    await until(finished(chain.id))
    assert scheduler.stats["failed"] == 1 and "boom" in caplog.text


# -- duplicates and order ---------------------------------------------------------------------------


async def test_duplicate_and_late_wake_events_run_no_node_twice(scheduler):
    chain = await db(EffectChain)(autorun=False)
    for _ in range(3):
        await events.apublish(events.wake_event(chain.id))
    await until(finished(chain.id))
    await events.apublish(events.wake_event(chain.id, timezone.now() - timedelta(minutes=5)))
    await events.apublish(events.wake_event(chain.id))
    for _ in range(200):  # until the worker has taken all five events
        if scheduler.stats["events"] == 5:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # and handled the last
    assert scheduler.stats["events"] == 5
    assert await db(NodeEffect.objects.filter(automation_id=chain.id).count)() == 5
    assert scheduler.stats["failed"] == 0


async def test_a_timer_hint_for_an_instance_no_longer_due_does_nothing():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            napper = await db(Napper)(seconds=60)
            worker.schedule(napper.id, clock.now)  # e.g. a stale hint: the row says a minute from now
            await clock.aadvance(seconds=0)
            for _ in range(500):  # until the hint's timer has run its step
                if worker.stats["timers"] and worker.next_wake() == clock.now + timedelta(seconds=60):
                    break
                await asyncio.sleep(0.01)
            assert "woke_at" not in (await db(model)(napper.id)).data
            assert worker.next_wake() == clock.now + timedelta(seconds=60)  # re-armed for the row's time


# -- timers -----------------------------------------------------------------------------------------


async def test_a_timer_fires_at_its_time_without_any_sweep():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            napper = await db(Napper)(seconds=1)
            created = clock.now
            assert worker.next_wake() == created + timedelta(seconds=1)
            await clock.aadvance(seconds=0.999)
            assert worker.stats["timers"] == 0
            await clock.aadvance(seconds=0.001)
            await until(finished(napper.id))
            woke = (await db(model)(napper.id)).data["woke_at"]
            assert timezone.datetime.fromisoformat(woke) == created + timedelta(seconds=1)
            assert worker.stats["sweeps"] == 1  # only the one at start, before the instance existed
            assert worker.stats["timers"] >= 1


async def test_timers_due_together_are_advanced_a_batch_per_transaction(settings, monkeypatch):
    batches = []
    advance_due = worker_database.advance_due

    def noted(automation_ids, due_at=None):
        batches.append(list(automation_ids))
        return advance_due(automation_ids, due_at)

    monkeypatch.setattr(worker_database, "advance_due", noted)
    # This slow machine: no batch cut short.
    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            nappers = [await db(Napper)(seconds=60) for _ in range(6)]
            moment = clock.now + timedelta(seconds=0.3)
            ids = [napper.id for napper in nappers]

            def due_at_once():
                AutomationModel.objects.filter(pk__in=ids).update(wake_at=moment)
                tasks = AutomationTaskModel.objects.filter(automation_id__in=ids)
                tasks.update(created=moment - timedelta(seconds=60))

            await db(due_at_once)()
            for pk in ids:
                worker.schedule(pk, moment)
            assert not batches
            await clock.aadvance(seconds=0.3)
            await until(lambda: all("woke_at" in model(pk).data for pk in ids))
    assert sorted(pk for batch in batches for pk in batch) == sorted(ids)
    # One batch, one transaction.
    assert len(batches) == 1


def _spoiled_by(failing_id, exception, original):
    """Wrap the step function ``original`` so that it raises ``exception`` for ``failing_id``."""
    from django.db import transaction

    def step_or_fail(automation_id, *args, **kwargs):
        if automation_id == failing_id:
            if exception is OperationalError:
                transaction.set_rollback(True)  # as a failed statement leaves the transaction
            raise exception("boom")
        return original(automation_id, *args, **kwargs)

    return step_or_fail


@pytest.mark.parametrize("exception", [ValueError, "OperationalError"])
def test_a_batch_of_due_instances_survives_a_failing_one(settings, monkeypatch, exception):
    from automations.engine import batches

    exception = OperationalError if exception == "OperationalError" else exception
    settings.ATM_WAKE_BATCH_SECONDS = 10
    nappers = [Napper(seconds=0, autorun=False) for _ in range(3)]
    # in the batch (the steps it runs from its rows) and one by one (after the batch rolled back)
    monkeypatch.setattr(batches, "step_locked", _spoiled_by(nappers[1].id, exception, batches.step_locked))
    monkeypatch.setattr(batches, "advance", _spoiled_by(nappers[1].id, exception, batches.advance))
    ids = [n.id for n in nappers]
    if exception is OperationalError:
        with pytest.raises(OperationalError):  # the transaction is spoiled: nothing of the batch commits
            worker_database.advance_due(ids)
        assert "woke_at" not in model(ids[0]).data
        return
    results, left = worker_database.advance_due(ids)
    assert set(results) == {ids[0], ids[2]} and not left
    assert [bool(model(pk).data.get("woke_at")) for pk in ids] == [True, False, True]


def test_a_batch_of_due_instances_stops_after_its_time(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 0
    ids = [Napper(seconds=0, autorun=False).id for _ in range(3)]
    results, left = worker_database.advance_due(ids)
    assert list(results) == ids[:1] and left == set(ids[1:])


async def test_a_wake_time_reported_by_a_step_run_for_an_event_fires_the_timer():
    # The step runs in the database thread and reports its wake time from there; the timer it arms
    # must not inherit that thread's context (asgiref would refuse the next call: "would deadlock").
    with frozen_clock() as clock:
        napper = await db(Napper)(seconds=0.3, autorun=False)
        async with running(quiet_worker(), clock=clock) as worker:
            assert await worker.dispatch(events.wake_event(napper.id))
            await until(lambda: worker.next_wake() == clock.now + timedelta(seconds=0.3))
            await clock.aadvance(seconds=0.3)
            await until(finished(napper.id))
            assert worker.stats["timers"] >= 1  # the nap's; the sweep at start may arm one more


async def test_an_earlier_wake_time_re_arms_the_timer():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            late = await db(Napper)(seconds=30)
            early = await db(Napper)(seconds=0.3)
            assert worker.next_wake() == clock.now + timedelta(seconds=0.3)
            await clock.aadvance(seconds=0.3)
            await until(finished(early.id))
            assert not await db(late.finished)()
            assert worker.next_wake() == (await db(model)(late.id)).wake_at


async def test_start_sweep_runs_what_became_due_while_no_worker_ran():
    chain = await db(EffectChain)(autorun=False)
    await db(AutomationModel.objects.filter(pk=chain.id).update)(wake_at=timezone.now())
    async with running(Scheduler(channel_layer=get_channel_layer(), sweep_interval=3600)):
        await until(finished(chain.id))


async def test_the_periodic_sweep_finds_instances_nobody_told_the_worker_about():
    async with running(Scheduler(channel_layer=get_channel_layer(), sweep_interval=0.2)) as worker:
        chain = await db(EffectChain)(autorun=False)
        await db(AutomationModel.objects.filter(pk=chain.id).update)(wake_at=timezone.now())
        await until(finished(chain.id), timeout=3)
        assert worker.stats["sweeps"] >= 2


# -- hand-offs --------------------------------------------------------------------------------------


async def test_nice_hands_the_instance_to_the_worker(scheduler):
    def create_and_hand_over():
        chain = EffectChain(autorun=False)
        chain.nice()
        return chain

    chain = await db(create_and_hand_over)()
    await until(finished(chain.id))


# -- the consumer for Channels' runworker ----------------------------------------------------------


async def test_scheduler_consumer_handles_events_and_survives_bad_ones():
    communicator = ApplicationCommunicator(
        SchedulerConsumer.as_asgi(), {"type": "channel", "channel": events.channel_name()}
    )
    try:
        await communicator.send_input({"no": "type"})
        await communicator.send_input({"type": "automation.dance"})
        await communicator.send_input(
            {"type": "automation.start", "automation_class": NAPPER, "data": {"seconds": 0}, "id": "s-1"}
        )
        await until(lambda: AutomationModel.objects.filter(automation_class=NAPPER, finished=True).exists())
        assert process_scheduler().stats["invalid"] == 2  # the one the consumer handed them to
    finally:
        communicator.stop(exceptions=False)
        await close_process_scheduler()


async def test_schedule_before_start_is_kept_for_the_timer():
    with frozen_clock() as clock:
        chain = await db(EffectChain)(autorun=False)
        at = clock.now
        await db(AutomationModel.objects.filter(pk=chain.id).update)(wake_at=at)
        worker = Scheduler(
            channel_layer=get_channel_layer(), sweep_interval=3600, now=clock, call_later=clock.call_later
        )
        assert await worker.dispatch(events.wake_event(chain.id, at + timedelta(seconds=0.2)))
        assert worker.next_wake() == at + timedelta(seconds=0.2)
        async with running(worker):
            await clock.aadvance(seconds=0.2)
            await until(finished(chain.id))


async def test_an_event_with_an_id_is_handled_once_however_often_it_arrives(scheduler):
    napper = await db(Napper)(seconds=60)
    visit = {"type": "automation.message", "automation": napper.id, "message": "visit", "token": "hall",
             "data": {"room": 1}, "id": "visit-1"}  # fmt: skip
    for _ in range(3):
        assert await scheduler.dispatch(visit)
    assert await scheduler.dispatch({**visit, "id": "visit-2"})
    assert not await scheduler.dispatch({**visit, "id": None})  # an effectful event needs an id
    assert len((await db(model)(napper.id)).data["visits"]) == 2


async def test_publish_names_every_event_but_wake_ups():
    layer = get_channel_layer()
    await layer.flush()
    marker = {"marker": "publish-names"}
    start = {"type": "automation.start", "automation_class": NAPPER, "data": marker}
    await events.apublish(start)
    await events.apublish({**start, "id": "mine"})
    await events.apublish(events.wake_event(987654321))
    # An earlier test's worker may still publish to the shared channel after the flush: skip its events.
    received = []
    while len(received) < 3:
        event = await asyncio.wait_for(layer.receive(events.channel_name()), timeout=5)
        if event.get("data") == marker or event.get("automation") == 987654321:
            received.append(event)
    assert len(received[0]["id"]) == 32 and received[1]["id"] == "mine" and "id" not in received[2]
    assert "id" not in start


def test_handled_events_are_forgotten_after_a_day_pending_ones_never():
    from automations.events import inbox
    from automations.models import InboxEvent

    InboxEvent.objects.create(id="old", handled=timezone.now() - timedelta(hours=25))
    InboxEvent.objects.create(id="new", handled=timezone.now() - timedelta(hours=23))
    InboxEvent.objects.create(id="pending", received=timezone.now() - timedelta(days=30))
    assert inbox.forget_handled() == 1
    assert sorted(InboxEvent.objects.values_list("id", flat=True)) == ["new", "pending"]


def test_an_event_id_must_be_a_short_string():
    for bad in (5, "", "x" * 101):
        with pytest.raises(events.InvalidEventError):
            events.validate({"type": "automation.start", "automation_class": NAPPER, "id": bad})


class WakesAnother(Napper):
    """A ``Napper`` whose waking writes another instance's row, as project code may."""

    def note_waking(self, task):
        super().note_waking(task)
        other = self.data.get("wakes")
        if other:
            AutomationModel.objects.filter(pk=other).update(data={"seconds": 0, "awake": True})


def test_a_batch_step_sees_what_an_earlier_step_of_the_batch_wrote_to_its_instance(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    second = Napper(seconds=0, sleepy=True, autorun=False)
    first = WakesAnother(seconds=0, wakes=second.id, autorun=False)
    results, _ = worker_database.advance_due([first.id, second.id])
    assert results[first.id].finished
    assert results[second.id].finished  # its step read its row after the first step wrote it
    assert model(second.id).data["awake"] is True and model(second.id).finished


def test_a_write_with_the_orm_to_an_instance_stepped_earlier_in_the_batch_is_not_overwritten(settings):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    second = Napper(seconds=0, sleepy=True, autorun=False)
    first = WakesAnother(seconds=0, wakes=second.id, autorun=False)
    results, _ = worker_database.advance_due([second.id, first.id])  # the written one steps first
    assert results[first.id].finished and not results[second.id].finished  # it stepped while asleep
    assert model(second.id).data["awake"] is True  # the first's write stays: the batch went one by one
    assert model(first.id).finished


def test_a_worker_reads_due_batches_ahead_only_on_its_own_clock_and_not_on_sqlite(settings):
    from django.db import connection

    settings.ATM_WAKE_LEAD = 0.07
    expected = 0.0 if connection.vendor == "sqlite" else 0.07  # SQLite: the batch's thread is the requests'
    assert quiet_worker().wake_lead() == expected
    with frozen_clock() as clock:  # a test's clock moves only when the test says: never early
        scheduler = Scheduler(channel_layer=get_channel_layer(), now=clock, call_later=clock.call_later)
        assert scheduler.wake_lead() == 0.0
    settings.ATM_WAKE_LEAD = 0
    assert quiet_worker().wake_lead() == 0.0
