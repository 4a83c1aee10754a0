"""The worker's listener skips what the channel layer cannot decode; only a lost connection makes it wait.

channels-redis takes a message off the channel, then decodes it; a message it cannot decode (another
serializer, other encryption keys, bytes that are no message) raises in ``receive()``. The tests
on a layer wrapper run everywhere; the one that writes undecodable messages into Redis needs
``REDIS_URL`` (it skips without, and fails instead when ``ATM_REQUIRE_SERVICES=1``).
"""

import asyncio
import contextlib
import logging
import os
import random
import time
import uuid

import msgpack
import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.serializers import registry as serializers

import settings as site
from automations import events
from automations import settings as atm_settings
from automations.worker import Scheduler, take_waiting_events
from tests.conftest import REQUIRE_SERVICES
from tests.test_scheduler import finished, running, until
from tests.testapp.automations import Napper

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
PREFIX_LENGTH = 12  # channels-redis puts this many random bytes before each stored message
SITE_SERIALIZER = serializers.get_serializer("msgpack", random_prefix_length=PREFIX_LENGTH)
ENCRYPTING = serializers.get_serializer(  # a site with encryption keys
    "msgpack", random_prefix_length=PREFIX_LENGTH, symmetric_encryption_keys=["this site's key"]
)
WAKE = {"type": events.WAKE, "automation": 1}

# What follows channels-redis's random prefix in a stored message that this site cannot decode.
UNDECODABLE = {
    "random bytes": random.Random(1).randbytes(40),
    "other random bytes": random.Random(4).randbytes(40),
    "truncated msgpack": msgpack.packb(WAKE)[:-3],
    "nothing": b"",
    "a top-level int": msgpack.packb(5),
    "a top-level None": msgpack.packb(None),
    "a top-level float": msgpack.packb(1.5),
    "a top-level string": msgpack.packb("__asgi_channel__"),
    "top-level bytes": msgpack.packb(b"bytes"),
    "msgpack nested 5,000 deep": b"\x91" * 5_000 + b"\xc0",
    "JSON": b'{"type": "automation.wake", "automation": 1}',
    "invalid UTF-8": b"\xa2\xff\xfe",
    "encrypted with other keys": serializers.get_serializer(
        "msgpack", random_prefix_length=PREFIX_LENGTH, symmetric_encryption_keys=["another site's key"]
    ).serialize(WAKE)[PREFIX_LENGTH:],
    "a map with an int key": b"\x81\x01\x01",
    "a truncated map": b"\x82\xa4type",
}


def receive_like_channels_redis(stored: bytes, serializer=SITE_SERIALIZER):
    """Return what channels-redis's ``receive()`` makes of the ``stored`` message, or raise what it raises."""
    message = serializer.deserialize(stored)
    if "__asgi_channel__" in message:  # as RedisChannelLayer.receive_single() does next
        del message["__asgi_channel__"]
    return message


def decode_error(body: bytes, serializer=SITE_SERIALIZER) -> Exception:
    try:
        receive_like_channels_redis(os.urandom(PREFIX_LENGTH) + body, serializer)
    except Exception as exc:
        return exc
    raise AssertionError(f"{body[:40]!r} can be decoded")


def test_the_undecodable_messages_raise_what_the_reports_name():
    errors = {name: type(decode_error(body)).__name__ for name, body in UNDECODABLE.items()}
    assert len(errors) == 15
    expected = {"ExtraData", "StackError", "TypeError", "UnicodeDecodeError", "ValueError"}
    assert expected <= set(errors.values())
    assert type(decode_error(msgpack.packb(WAKE), ENCRYPTING)).__name__ == "InvalidToken"


class Failing:
    """A channel layer whose ``receive()`` first raises each of ``errors``, then receives from ``layer``."""

    def __init__(self, layer, errors=()):
        self.layer, self.errors, self.calls = layer, list(errors), 0

    async def receive(self, channel):
        self.calls += 1
        if self.errors:
            await asyncio.sleep(0)  # as a real layer's round trip would
            raise self.errors.pop(0)
        return await self.layer.receive(channel)

    def __getattr__(self, name):
        return getattr(self.layer, name)


def wake_up(napper):
    return {"type": events.MESSAGE, "automation": napper.id, "message": "wake_up", "id": uuid.uuid4().hex}


@pytest.fixture
def channel(settings):
    settings.ATM_CHANNEL_NAME = f"automations.test-listener.{uuid.uuid4().hex[:12]}"
    return settings.ATM_CHANNEL_NAME


def skip_lines(caplog):
    return [record for record in caplog.records if record.getMessage().startswith("Skipped")]


async def test_undecodable_messages_are_skipped_without_waiting(channel, caplog):
    errors = [decode_error(body) for body in UNDECODABLE.values()]
    errors.append(decode_error(msgpack.packb(WAKE), ENCRYPTING))  # sent without the site's keys
    layer = Failing(get_channel_layer(), errors)
    async with running(Scheduler(channel_layer=layer, sweep_interval=3600)) as worker:
        napper = await db(Napper)(seconds=0, sleepy=True)
        await layer.send(channel, wake_up(napper))
        assert await until(finished(napper.id), timeout=1) < 0.5  # 16 s when each one waited a second
        assert worker.stats["undecodable"] == 16 and not layer.errors
    (line,) = skip_lines(caplog)  # one line for the burst, not sixteen
    assert line.levelno == logging.WARNING and "Skipped 1 message(s)" in line.getMessage()


async def test_a_lost_connection_still_waits_before_trying_again(settings, channel, caplog, monkeypatch):
    settings.ATM_RECONNECT_DELAY = 0.15
    layer = Failing(get_channel_layer(), [redis.exceptions.ConnectionError("lost"), ConnectionRefusedError()])
    napper = await db(Napper)(seconds=0, sleepy=True)
    await layer.send(channel, wake_up(napper))  # waiting in the channel before the worker starts
    started = time.monotonic()
    async with running(Scheduler(channel_layer=layer, sweep_interval=3600)) as worker:
        await until(finished(napper.id), timeout=2)
        assert time.monotonic() - started >= 0.3  # two waits of 0.15 s
        assert worker.stats["undecodable"] == 0
    messages = [record.getMessage() for record in caplog.records]
    assert sum("Could not receive from channel" in message for message in messages) == 1
    assert sum("Receiving from channel" in message for message in messages) == 1
    assert not skip_lines(caplog)


async def test_an_error_that_takes_nothing_does_not_spin_the_listener(channel, caplog):
    class Broken(Failing):
        async def receive(self, channel):
            self.calls += 1
            await asyncio.sleep(0)
            raise ValueError("the same again")

    layer = Broken(get_channel_layer())
    async with running(Scheduler(channel_layer=layer, sweep_interval=3600)):
        ticks = 0
        started = time.monotonic()
        while time.monotonic() - started < 0.3:  # the event loop's other tasks still run
            await asyncio.sleep(0.01)
            ticks += 1
        calls = layer.calls
    assert ticks > 10
    every, pause = atm_settings.get("ATM_UNDECODABLE_PAUSE_EVERY"), atm_settings.get("ATM_UNDECODABLE_PAUSE")
    assert every <= calls <= every * (0.3 / pause + 2)  # a pause after every hundred
    assert len(skip_lines(caplog)) == 1


async def test_automation_step_skips_undecodable_messages_and_takes_the_others(channel, monkeypatch, caplog):
    layer = Failing(get_channel_layer(), [decode_error(body) for body in UNDECODABLE.values()])
    napper = await db(Napper)(seconds=0, sleepy=True)
    await layer.send(channel, wake_up(napper))
    assert await take_waiting_events(channel_layer=layer) == 1  # stored in the inbox
    assert "Skipped 15 message(s)" in caplog.text


# -- on Redis ---------------------------------------------------------------------------------------


@pytest.fixture
async def redis_layer():
    """A channels-redis layer configured as the site's settings configure it, and a plain Redis client."""
    url = os.environ.get("REDIS_URL")
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail("ATM_REQUIRE_SERVICES=1, but REDIS_URL is not set.")
        pytest.skip("needs Redis: set REDIS_URL=redis://...")
    layer = RedisChannelLayer(**site.channel_layers_from_url(url)["default"]["CONFIG"])
    client = redis.Redis.from_url(url)
    try:
        yield layer, client
    finally:
        with contextlib.suppress(Exception):
            await layer.close_pools()
        client.close()


def push_raw(client, layer, channel, body: bytes) -> None:
    """Write ``body`` into ``channel`` as channels-redis stores a message, after a random prefix."""
    client.zadd(layer.prefix + channel, {os.urandom(PREFIX_LENGTH) + body: time.time()})
    client.expire(layer.prefix + channel, 60)


def forget_channel(client, layer, channel) -> None:
    client.delete(layer.prefix + channel, layer.prefix + channel + "$inflight")


@pytest.mark.redis
async def test_undecodable_messages_in_redis_hold_up_no_event(redis_layer, channel):
    layer, client = redis_layer
    try:
        async with running(Scheduler(channel_layer=layer, sweep_interval=3600)) as worker:
            napper = await db(Napper)(seconds=0, sleepy=True)
            for body in UNDECODABLE.values():
                push_raw(client, layer, channel, body)
            sent = time.monotonic()
            await layer.send(channel, wake_up(napper))
            await until(finished(napper.id), timeout=2)
            assert time.monotonic() - sent < 1.0  # 15.1 s when each one waited a second
            assert worker.stats["undecodable"] == 15
        assert client.zcard(layer.prefix + channel) == 0  # nothing left behind, nothing put back
    finally:
        forget_channel(client, layer, channel)
