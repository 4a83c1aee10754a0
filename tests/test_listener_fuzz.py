"""Property-based tests of the listener: any bytes in the channel, and every valid event is applied once.

One variant writes the bytes into Redis as channels-redis stores messages (``REDIS_URL``; it skips
without, and fails instead when ``ATM_REQUIRE_SERVICES=1``); the other runs everywhere, on a layer
wrapper that makes of each payload what channels-redis's ``receive()`` would: a message, or the
exception it raises.
"""

import asyncio
import os
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import settings as site
from automations import events
from automations.models import AutomationModel
from automations.worker import Scheduler
from tests.test_listener import PREFIX_LENGTH, Failing, forget_channel, push_raw, receive_like_channels_redis
from tests.test_scheduler import running
from tests.testapp.automations import Napper

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# A mix of raw payloads (bytes) and valid events (None: a visit, numbered in order), in sending order.
traffic = st.lists(st.one_of(st.binary(max_size=80), st.none()), min_size=1, max_size=25)


def visit(napper_id, room):
    return {"type": events.MESSAGE, "automation": napper_id, "message": "visit", "token": "hall",
            "data": {"room": room}, "id": f"fuzz-{uuid.uuid4().hex}"}  # fmt: skip


def rooms_visited(napper_id):
    return [visit["room"] for visit in AutomationModel.objects.get(pk=napper_id).data.get("visits", [])]


async def all_visits_applied(napper_id, expected, timeout=5.0):
    """Wait until the visits ``expected`` are applied; then a little longer for any applied twice."""
    for _ in range(int(timeout / 0.01)):
        if len(await db(rooms_visited)(napper_id)) >= len(expected):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)
    return sorted(await db(rooms_visited)(napper_id))


class Receiving(Failing):
    """A layer that hands out ``payloads`` first, each as channels-redis's ``receive()`` would decode it."""

    def __init__(self, layer, payloads):
        super().__init__(layer)
        self.payloads = list(payloads)

    async def receive(self, channel):
        if self.payloads:
            await asyncio.sleep(0)
            return receive_like_channels_redis(os.urandom(PREFIX_LENGTH) + self.payloads.pop(0))
        return await self.layer.receive(channel)


@given(sent=traffic)
@FUZZ
def test_every_valid_event_is_applied_once_whatever_undecodable_bytes_come_with_it(sent):
    async def scenario():
        napper = await db(Napper)(seconds=60)
        channel = f"automations.test-listener-fuzz.{uuid.uuid4().hex[:12]}"
        inner = get_channel_layer()
        layer = Receiving(inner, [payload for payload in sent if payload is not None])
        expected = [room for room, payload in enumerate(sent) if payload is None]
        for room in expected:
            await inner.send(channel, visit(napper.id, room))
        async with running(Scheduler(channel_layer=layer, channel=channel, sweep_interval=3600)) as worker:
            assert await all_visits_applied(napper.id, expected) == expected
            assert not layer.payloads and worker.stats["failed"] == 0

    async_to_sync(scenario)()


@pytest.mark.redis
@given(sent=traffic)
@FUZZ
def test_every_valid_event_is_applied_once_whatever_bytes_are_in_redis(redis_url, sent):
    async def scenario():
        napper = await db(Napper)(seconds=60)
        channel = f"automations.test-listener-fuzz.{uuid.uuid4().hex[:12]}"
        layer = RedisChannelLayer(**site.channel_layers_from_url(redis_url)["default"]["CONFIG"])
        client = redis.Redis.from_url(redis_url)
        expected = [room for room, payload in enumerate(sent) if payload is None]
        try:
            worker = Scheduler(channel_layer=layer, channel=channel, sweep_interval=3600)
            async with running(worker):
                for room, payload in enumerate(sent):
                    if payload is None:
                        await layer.send(channel, visit(napper.id, room))
                    else:
                        push_raw(client, layer, channel, payload)
                assert await all_visits_applied(napper.id, expected) == expected
                assert worker.stats["failed"] == 0
        finally:
            forget_channel(client, layer, channel)
            client.close()
            await layer.close_pools()

    async_to_sync(scenario)()
