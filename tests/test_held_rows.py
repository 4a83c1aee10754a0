"""A held row never stalls other work, and what fails on the database is tried again soon.

The tests with a row really held by another connection need PostgreSQL (SQLite locks the whole
database, and waits for it as always); they skip elsewhere, and fail instead when
``ATM_REQUIRE_SERVICES=1``. The others hold a row by making the engine's lock say so, and run on
every database.
"""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError, connection, transaction
from django.utils import timezone

import automations.worker.database as worker_database
from automations.engine import steps
from automations.engine.locking import InstanceLockedError, bounded_lock_wait, lock_instance
from automations.events import inbox
from automations.models import AutomationModel, InboxEvent, WorkerModel
from tests.helpers import require_postgres
from tests.test_event_intake import channel, visit, visits, worker  # noqa: F401 - fixtures
from tests.test_postgres_concurrency import other_connection
from tests.test_scheduler import finished, quiet_worker, running, until
from tests.testapp.automations import Napper

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture
def postgresql():
    require_postgres()


def hold_row(holder, automation_id):
    """Lock the instance's row in the other connection's transaction (until it commits or closes)."""
    holder.execute("SELECT id FROM automations_automationmodel WHERE id = %s FOR UPDATE", [automation_id])


def lock_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


def store(event):
    inbox.accept([event], worker="a test")


# -- the lock, on PostgreSQL ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql")
def test_a_bounded_lock_gives_up_on_a_held_row_and_leaves_the_transaction_s_timeout_as_it_was():
    napper = Napper(seconds=60)
    with other_connection() as holder:
        hold_row(holder, napper.id)
        with transaction.atomic():
            before = lock_timeout()
            with pytest.raises(InstanceLockedError, match=f"Automation instance {napper.id} is locked"):
                with transaction.atomic(), bounded_lock_wait(0.05):
                    lock_instance(napper.id)
            assert lock_timeout() == before  # the savepoint's rollback took the short timeout back
    with transaction.atomic():
        with bounded_lock_wait(0.05):
            assert lock_instance(napper.id).pk == napper.id
        assert lock_timeout() == before  # node code after the lock waits as before


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql")
def test_an_event_for_a_held_instance_comes_back_locked_without_an_attempt_then_is_applied_once():
    napper = Napper(seconds=60)
    store(visit(napper.id, "held-visit"))
    with other_connection() as holder:
        hold_row(holder, napper.id)
        assert inbox.apply("held-visit") == inbox.LOCKED
        assert InboxEvent.objects.get(pk="held-visit").attempts == 0
    assert inbox.apply("held-visit") == InboxEvent.APPLIED
    assert inbox.apply("held-visit") is None
    assert visits(napper.id) == 1
    assert InboxEvent.objects.get(pk="held-visit").attempts == 1


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql")
async def test_a_held_row_delays_only_its_own_instance_s_events(worker):  # noqa: F811
    held, other = await db(Napper)(seconds=60), await db(Napper)(seconds=60)
    holder = await asyncio.to_thread(other_connection)
    try:
        await asyncio.to_thread(hold_row, holder, held.id)
        await worker.channel_layer.send(worker.channel, visit(held.id, "to-the-held-one"))
        await worker.channel_layer.send(worker.channel, visit(other.id, "to-another-one"))
        took = await until(lambda: visits(other.id) == 1)
        assert took < 2  # not after the held row: the lock waits ATM_LOCK_WAIT at most
        assert await db(visits)(held.id) == 0
    finally:
        await asyncio.to_thread(holder.close)  # the row is free again
    await until(lambda: visits(held.id) == 1)
    event = await db(InboxEvent.objects.get)(pk="to-the-held-one")
    assert (event.outcome, event.attempts) == (InboxEvent.APPLIED, 1)


# -- held rows and database failures, on every database ----------------------------------------------


@pytest.fixture
def held(monkeypatch):
    """``held[id] = n``: the step of instance ``id`` finds its row held the next ``n`` times."""
    counts: dict[int, int] = {}
    original = steps.lock_instance

    def lock_or_refuse(automation_id, **kwargs):
        if counts.get(automation_id):
            counts[automation_id] -= 1
            raise InstanceLockedError(automation_id, 0.2)
        return original(automation_id, **kwargs)

    monkeypatch.setattr(steps, "lock_instance", lock_or_refuse)
    return counts


async def test_a_locked_event_is_tried_again_soon_and_applied_once(worker, held):  # noqa: F811
    napper, other = await db(Napper)(seconds=60), await db(Napper)(seconds=60)
    held[napper.id] = 3
    await worker.channel_layer.send(worker.channel, visit(napper.id, "locked-three-times"))
    await worker.channel_layer.send(worker.channel, visit(napper.id, "then-this-one", room=2))
    await worker.channel_layer.send(worker.channel, visit(other.id, "beside-them"))
    await until(lambda: visits(other.id) == 1)
    took = await until(lambda: visits(napper.id) == 2)
    assert took < 3  # 0.1 + 0.2 + 0.4 s of backoff, not the next sweep
    rooms = [visit["room"] for visit in (await db(AutomationModel.objects.get)(pk=napper.id)).data["visits"]]
    assert rooms == [1, 2]  # one instance's events in the order they came
    event = await db(InboxEvent.objects.get)(pk="locked-three-times")
    assert (event.outcome, event.attempts) == (InboxEvent.APPLIED, 1)
    assert held[napper.id] == 0


def failing_first(times, function):
    """Return ``function`` raising a database error the first ``times`` calls, and ``calls``."""
    calls = []

    def fail_or_call(*args, **kwargs):
        calls.append(args)
        if len(calls) <= times:
            raise OperationalError("the database restarted")
        return function(*args, **kwargs)

    return fail_or_call, calls


async def test_a_timer_batch_that_failed_on_the_database_is_tried_again_soon(monkeypatch):
    batch, batch_calls = failing_first(1, worker_database.advance_due)
    one, one_calls = failing_first(1, worker_database.advance_one)
    monkeypatch.setattr(worker_database, "advance_due", batch)
    monkeypatch.setattr(worker_database, "advance_one", one)
    async with running(quiet_worker()) as scheduler:  # its first sweep is done: only the timer runs it
        napper = await db(Napper)(seconds=0, autorun=False)
        began = asyncio.get_running_loop().time()
        scheduler.schedule(napper.id)
        await until(finished(napper.id))
        assert asyncio.get_running_loop().time() - began < 2  # not at the next sweep (3600 s)
    assert len(batch_calls) == 2 and len(one_calls) == 1  # the batch, one by one, then the batch again


async def test_a_sweep_that_failed_on_the_database_runs_again_soon(monkeypatch):
    sweep_due, calls = failing_first(1, worker_database.sweep_due)
    monkeypatch.setattr(worker_database, "sweep_due", sweep_due)
    async with running(quiet_worker()) as scheduler:  # its first sweep fails; the next is an hour away
        took = await until(lambda: len(calls) == 2)
        assert took < 1
        await until(lambda: scheduler.stats["sweeps"] == 2 and scheduler._sweep_backoff.failures == 0)


async def test_an_event_whose_handling_failed_on_the_database_is_tried_again_soon(worker, monkeypatch):  # noqa: F811
    napper = await db(Napper)(seconds=60)
    apply, calls = failing_first(2, inbox.apply)
    monkeypatch.setattr(inbox, "apply", apply)
    await worker.channel_layer.send(worker.channel, visit(napper.id, "after-a-restart"))
    took = await until(lambda: visits(napper.id) == 1)
    assert took < 2 and len(calls) == 3
    event = await db(InboxEvent.objects.get)(pk="after-a-restart")
    assert (event.outcome, event.attempts) == (InboxEvent.APPLIED, 1)


# -- takeovers --------------------------------------------------------------------------------------


def test_a_claimed_worker_stays_claimed_while_its_claimant_beats():
    old = timezone.now() - timedelta(minutes=5)
    WorkerModel.objects.create(name="frozen", started=old, seen=old)
    assert worker_database.heartbeat("first") == ["frozen"]
    WorkerModel.objects.filter(name="frozen").update(seen=old)  # as if the takeover took long
    assert worker_database.heartbeat("first", claimed=["frozen"]) == []  # refreshed with its claimant
    assert worker_database.heartbeat("second") == []  # so nobody claims it again
    worker_database.forget_workers(["frozen"])
    assert set(WorkerModel.objects.values_list("name", flat=True)) == {"first", "second"}
