"""The worker's timers cannot be switched off from outside: made-up, far-off and surplus wake-ups.

Runs on the database and channel layer of the settings: SQLite and in-memory, or PostgreSQL and Redis.
"""

import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

import automations.worker.database as worker_database
from automations import events
from automations import settings as atm_settings
from automations.models import AutomationModel
from automations.testing import frozen_clock
from automations.worker import Scheduler
from tests.test_scheduler import finished, quiet_worker, running, until
from tests.testapp.automations import EffectChain, Napper

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_channel(settings):
    """A channel of the test's own: wake-ups other tests left on a shared layer never reach its worker."""
    settings.ATM_CHANNEL_NAME = f"automations.test-wake-limits.{uuid.uuid4().hex[:12]}"

db = database_sync_to_async
MAX_TIMERS = atm_settings.DEFAULTS["ATM_MAX_TIMERS"]
MADE_UP = 10**12  # the first of the made-up instance ids; far above any the tests create


def made_up_wakes(at: str) -> list[dict]:
    """101 ``automation.wakes`` events of 500 made-up instance ids each, due ``at``: more than MAX_TIMERS."""
    return [
        {"type": events.WAKES, "wakes": [{"automation": MADE_UP + n * 500 + i, "at": at} for i in range(500)]}
        for n in range(101)
    ]


def due_in(seconds, chain=None):
    """An instance that nobody announced, due in ``seconds`` by the database."""
    chain = chain or EffectChain(autorun=False)
    AutomationModel.objects.filter(pk=chain.id).update(wake_at=timezone.now() + timedelta(seconds=seconds))
    return chain


@pytest.mark.parametrize("due", ["9999-12-31T23:59:59+00:00", "in half an hour"])
async def test_a_flood_of_made_up_wake_ups_leaves_the_timers_working(due):
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            if due == "in half an hour":  # within the horizon: only the database can tell
                due = (clock.now + timedelta(minutes=30)).isoformat()
            assert 101 * 500 > MAX_TIMERS
            for event in made_up_wakes(due):
                assert await worker.dispatch(event)
            napper = await db(Napper)(seconds=3)  # tells this process's worker directly
            assert worker.next_wake() == clock.now + timedelta(seconds=3)
            await clock.aadvance(seconds=3)
            await until(finished(napper.id), timeout=3)
            assert worker.stats["refused"] == 101 * 500 and worker.stats["sweeps"] == 1


async def test_wake_ups_for_instances_that_do_not_run_are_refused():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            done, broken = await db(EffectChain)(autorun=False), await db(EffectChain)(autorun=False)
            await db(AutomationModel.objects.filter(pk=done.id).update)(finished=True, status="finished")
            await db(AutomationModel.objects.filter(pk=broken.id).update)(error="boom", status="failed")
            waiting = await db(EffectChain)(autorun=False)
            at = clock.now + timedelta(seconds=5)
            ids = (done.id, broken.id, MADE_UP, waiting.id)
            wakes = [{"automation": pk, "at": at.isoformat()} for pk in ids]
            assert await worker.dispatch({"type": events.WAKES, "wakes": wakes})
            assert await worker.dispatch(events.wake_event(MADE_UP + 1, at))
            assert worker.stats["refused"] == 4
            assert worker.next_wake() == at and worker.timer_count() == 1  # the waiting one's


async def test_a_wake_up_beyond_the_horizon_is_left_to_the_sweep_that_comes_near_it(settings):
    settings.ATM_WAKE_HORIZON = 60
    with frozen_clock() as clock:
        # Its periodic sweep is ten real seconds away: here only the sweeps the test runs.
        worker = Scheduler(channel_layer=get_channel_layer(), sweep_interval=10)
        async with running(worker, clock=clock):
            assert worker.wake_horizon() == timedelta(seconds=60)
            chain = await db(due_in)(120)
            at = (await db(AutomationModel.objects.get)(pk=chain.id)).wake_at
            assert await worker.dispatch(events.wake_event(chain.id, at))
            assert worker.stats["refused"] == 1 and worker.next_wake() is None
            near = await db(due_in)(50)
            assert await worker.dispatch(events.wake_event(near.id, clock.now + timedelta(seconds=50)))
            assert worker.next_wake() == clock.now + timedelta(seconds=50)
            await clock.aadvance(seconds=50)
            await until(finished(near.id))
            await clock.aadvance(seconds=50)
            await worker.sweep()  # a sweep two intervals before it is due arms it
            assert worker.next_wake() == at
            await clock.aadvance(seconds=21)
            await until(finished(chain.id))


def test_the_horizon_covers_two_sweep_intervals_at_least(settings):
    layer = get_channel_layer()
    assert Scheduler(channel_layer=layer, sweep_interval=30).wake_horizon() == timedelta(seconds=3600)
    settings.ATM_WAKE_HORIZON = 10
    assert Scheduler(channel_layer=layer, sweep_interval=30).wake_horizon() == timedelta(seconds=60)


def test_the_sweep_loads_every_wake_time_due_before_the_next_sweep(settings, monkeypatch):
    settings.ATM_SWEEP_LOOKAHEAD = 2
    soon = [due_in(seconds) for seconds in (1, 2, 3, 4, 5)]
    later = due_in(60)
    upcoming = [pk for pk, _ in worker_database.upcoming(20)]
    assert upcoming == [chain.id for chain in soon] and later.id not in upcoming
    assert [pk for pk, _ in worker_database.upcoming(0.5)] == [soon[0].id, soon[1].id]  # LOOKAHEAD at least


async def test_the_sweep_re_arms_its_wake_times_when_the_timers_are_full():
    with frozen_clock() as clock:
        async with running(quiet_worker(), clock=clock) as worker:
            far = clock.now + timedelta(days=365)
            for automation_id in range(MADE_UP, MADE_UP + MAX_TIMERS):  # trusted: in-process hints
                worker.schedule(automation_id, far)
            chain = await db(due_in)(1)
            assert worker.next_wake() == far
            await worker.sweep()
            assert worker.next_wake() == clock.now + timedelta(seconds=1)
            assert worker.timer_count() == MAX_TIMERS  # one far-off timer made room
            await clock.aadvance(seconds=1)
            await until(finished(chain.id))
