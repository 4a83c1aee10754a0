"""Throughput of ``automation_worker`` processes on Redis: one worker, two sharing a channel, two sharded.

Each run creates ``instances`` ``TenSteps`` instances without running them, publishes one
``automation.wake`` event per instance as fast as one event loop can, and times until the last one
finished. Shared: every worker listens on one channel. Sharded: worker ``k`` listens on
``<channel>.k`` and instance ``i``'s events go to ``<channel>.{i % workers}``.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from bench.automations import TenSteps
from bench.measure import CheckFailed, Series
from bench.workers import Workers

NODES = 11  # ten Execute nodes and the End
TOTAL = sum(range(1, 11))


def _create(instances):
    return [TenSteps(autorun=False).id for _ in range(instances)]


def _publish(ids, channel_of):
    from channels.exceptions import ChannelFull
    from channels.layers import get_channel_layer

    from automations import events

    async def send_all():
        layer = get_channel_layer()
        for automation_id in ids:
            event = events.wake_event(automation_id)
            events.validate(event)
            while True:
                try:
                    await layer.send(channel_of(automation_id), event)
                    break
                except ChannelFull:
                    await asyncio.sleep(0.01)

    asyncio.run(send_all())


def _wait_until_finished(ids, timeout=300):
    from automations.models import AutomationModel

    deadline = time.monotonic() + timeout
    while AutomationModel.objects.filter(pk__in=ids, finished=True).count() < len(ids):
        if time.monotonic() > deadline:
            raise CheckFailed(f"the workers did not finish {len(ids)} instances in {timeout} s")
        time.sleep(0.01)


def duplicates(ids) -> int:
    """Return node visits beyond one per node and instance, plus instances whose total is off."""
    from automations.models import AutomationModel, AutomationTaskModel

    tasks = AutomationTaskModel.objects.filter(automation_id__in=ids).count()
    wrong = AutomationModel.objects.filter(pk__in=ids).exclude(data__total=TOTAL).count()
    return tasks - len(ids) * NODES + wrong


def measure(*, workers: int, sharded: bool, instances: int, runs: int, database: dict, redis_url: str):
    """Return ``(Series of nodes per second, duplicated node visits in all runs)``."""
    base = f"automations.bench-{uuid.uuid4().hex[:8]}"
    channels = [f"{base}.{k}" for k in range(workers)] if sharded else [base] * workers

    def channel_of(automation_id):
        return channels[automation_id % workers]

    rates, duplicated = Series(), 0
    with Workers(channels, database=database, redis_url=redis_url):
        for _ in range(runs):
            ids = _create(instances)
            start = time.perf_counter()
            _publish(ids, channel_of)
            _wait_until_finished(ids)
            rates.add(instances * NODES / (time.perf_counter() - start))
            duplicated += duplicates(ids)
    return rates, duplicated
