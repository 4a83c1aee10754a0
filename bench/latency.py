"""Runtime latencies: an event until its step has committed, and a timer's lateness.

In memory, the scheduler runs in this process on the benchmark's event loop, and the moment the
step committed is taken when the scheduler's ``_advance`` returns (the step's transaction is committed by
then). With Redis, an ``automation_worker`` process runs the step, and PostgreSQL tells this
process by ``NOTIFY``, which is delivered only when the step's transaction commits.
"""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import asynccontextmanager

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from automations import events
from bench.automations import PING_CHANNEL, Napper, Pinged
from bench.measure import CheckFailed

SETTLE = 0.005  # seconds between samples, so that each event meets an idle worker


def _created(cls, count):
    return [cls(autorun=False).id for _ in range(count)]


@asynccontextmanager
async def in_process_scheduler():
    """A :class:`Scheduler` on this loop with an in-memory layer; yields a ``send(event)`` coroutine."""
    from django.db import connections

    from automations.worker import Scheduler

    kept = {connection.alias: connection.settings_dict["CONN_MAX_AGE"] for connection in connections.all()}
    for connection in connections.all():  # as automation_worker keeps its connection
        connection.settings_dict["CONN_MAX_AGE"] = None
    layer = InMemoryChannelLayer(capacity=100_000)
    scheduler = Scheduler(channel_layer=layer, channel="automations.bench", sweep_interval=3600)
    running = asyncio.ensure_future(scheduler.arun())
    await asyncio.sleep(0.2)

    async def send(event):
        events.validate(event)  # what apublish does, on this layer
        await layer.send(scheduler.channel, event)

    try:
        yield send
    finally:
        scheduler.stop()
        await running
        for connection in connections.all():
            connection.settings_dict["CONN_MAX_AGE"] = kept[connection.alias]
        await database_sync_to_async(connections.close_all)()  # the kept one, in the database thread


async def _in_memory_latencies(samples):
    from unittest import mock

    ids = await database_sync_to_async(_created)(Pinged, samples)
    committed: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()
    import automations.worker.database as worker_database

    advance = worker_database.advance_one
    began: dict[int, float] = {}

    def advance_and_note(automation_id, due_only=True):
        began[automation_id] = time.perf_counter()
        result = advance(automation_id, due_only)
        committed[automation_id] = time.perf_counter()
        loop.call_soon_threadsafe(arrived.set)
        return result

    latencies, steps = [], []
    async with in_process_scheduler() as send:
        with mock.patch.object(worker_database, "advance_one", advance_and_note):
            for automation_id in ids:
                arrived.clear()
                sent = time.perf_counter()
                await send(events.wake_event(automation_id))
                await asyncio.wait_for(arrived.wait(), 10)
                latencies.append(committed[automation_id] - sent)
                steps.append(committed[automation_id] - began[automation_id])
                await asyncio.sleep(SETTLE)
    return latencies, steps


def in_memory(samples: int) -> tuple[list[float], list[float]]:
    """Seconds from sending ``automation.wake`` until the step committed, in-process scheduler.

    Return those and, for the same events, the seconds of the step itself (the scheduler's ``_advance``).
    """
    return asyncio.run(_in_memory_latencies(samples))


class CommitListener:
    """LISTENs on the benchmark's PostgreSQL channel in a thread; notes when each instance pinged."""

    def __init__(self, connection_settings):
        import psycopg

        self.connection = psycopg.connect(
            dbname=connection_settings["NAME"], user=connection_settings["USER"] or None,
            password=connection_settings["PASSWORD"] or None, host=connection_settings["HOST"] or None,
            port=connection_settings["PORT"] or None, autocommit=True,
        )  # fmt: skip
        self.connection.execute(f"LISTEN {PING_CHANNEL}")
        self.pinged: dict[int, float] = {}
        self.callbacks: dict[int, object] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self):
        while not self._stopping:
            for notify in self.connection.notifies(timeout=0.2):
                automation_id = int(notify.payload)
                self.pinged[automation_id] = time.perf_counter()
                callback = self.callbacks.pop(automation_id, None)
                if callback is not None:
                    callback()

    def close(self):
        self._stopping = True
        self._thread.join()
        self.connection.close()


async def _redis_latencies(samples, listener, channel):
    from channels.layers import get_channel_layer

    ids = await database_sync_to_async(_created)(Pinged, samples)
    layer = get_channel_layer()
    loop = asyncio.get_running_loop()
    latencies = []
    for automation_id in ids:
        arrived = asyncio.Event()
        listener.callbacks[automation_id] = lambda arrived=arrived: loop.call_soon_threadsafe(arrived.set)
        event = events.wake_event(automation_id)
        sent = time.perf_counter()
        events.validate(event)
        await layer.send(channel, event)
        await asyncio.wait_for(arrived.wait(), 10)
        latencies.append(listener.pinged[automation_id] - sent)
        await asyncio.sleep(SETTLE)
    return latencies


def redis(samples: int, *, listener: CommitListener, channel: str) -> list[float]:
    """Seconds from sending ``automation.wake`` on Redis until a worker's step committed."""
    return asyncio.run(_redis_latencies(samples, listener, channel))


# -- timers ---------------------------------------------------------------------------------------


def _lateness(ids):
    from automations.models import AutomationModel, AutomationTaskModel

    finished = AutomationModel.objects.filter(pk__in=ids, finished=True).count()
    if finished != len(ids):
        raise CheckFailed(f"{len(ids) - finished} of {len(ids)} nappers did not finish")
    results = AutomationTaskModel.objects.filter(automation_id__in=ids, status="nap")
    return [ms / 1000 for ms in results.values_list("result", flat=True)]


async def _wake_spread(send, ids, spacing):
    """Start the nappers ``spacing`` seconds apart, so that their timers fall due one by one."""
    for automation_id in ids:
        await send(events.wake_event(automation_id))
        await asyncio.sleep(spacing)


async def _until_finished(ids, timeout):
    from automations.models import AutomationModel

    def count():
        return AutomationModel.objects.filter(pk__in=ids, finished=True).count()

    deadline = time.monotonic() + timeout
    while await database_sync_to_async(count)() < len(ids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def _in_memory_lateness(count, spacing):
    ids = await database_sync_to_async(_created)(Napper, count)
    async with in_process_scheduler() as send:
        await _wake_spread(send, ids, spacing)
        await _until_finished(ids, timeout=30)
    return await database_sync_to_async(_lateness)(ids)


def timer_lateness_in_memory(count: int, spacing: float = 0.05) -> list[float]:
    """Seconds each 200 ms nap's node ran after it was due, with the in-process scheduler."""
    return asyncio.run(_in_memory_lateness(count, spacing))


async def _redis_lateness(count, spacing, channel):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    ids = await database_sync_to_async(_created)(Napper, count)

    async def send(event):
        events.validate(event)
        await layer.send(channel, event)

    await _wake_spread(send, ids, spacing)
    await _until_finished(ids, timeout=60)
    return await database_sync_to_async(_lateness)(ids)


def timer_lateness_redis(count: int, *, channel: str, spacing: float = 0.05) -> list[float]:
    """Seconds each 200 ms nap's node ran after it was due, with a worker process on Redis."""
    return asyncio.run(_redis_lateness(count, spacing, channel))
