"""Confirmed publishing holds a burst: a cap on publishes in flight, receipts that a full reply channel
does not lose, re-sends that wait as long as receipts take.

Runs on the channel layer of the settings: in-memory, or Redis in the PostgreSQL + Redis runs (where
the confirmed publishes run on the publishing loop and this test's loop plays the worker).
"""

import asyncio
import logging
import uuid

import pytest
from channels.layers import get_channel_layer
from django.core import checks

from automations import events, publisher
from automations.checks import check_reply_capacity
from automations.events import confirming, inbox
from automations.worker import intake
from tests.testapp.automations import EffectChain

START = EffectChain.get_automation_class_name()


@pytest.fixture
def channel(settings):
    """A worker channel of the test's own, where no worker listens: the test answers."""
    settings.ATM_CHANNEL_NAME = f"automations.test-confirming.{uuid.uuid4().hex[:12]}"
    return settings.ATM_CHANNEL_NAME


def start(n):
    return {"type": events.START, "automation_class": START, "data": {"n": n}, "id": f"burst-{n}"}


async def answer(layer, event):
    await layer.send(event["reply_channel"], events.receipt(event["id"]))


async def take_for(layer, channel, seconds):
    """Return the events that arrive on ``channel`` within ``seconds``."""
    taken = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                taken.append(await layer.receive(channel))
    except TimeoutError:
        return taken


# -- the cap on publishes in flight -----------------------------------------------------------------


async def test_no_more_publishes_than_the_cap_wait_for_receipts_at_once(settings, channel):
    settings.ATM_PUBLISH_IN_FLIGHT = 3
    layer = get_channel_layer()
    publishes = asyncio.gather(*(events.apublish(start(n), confirm=True, timeout=20) for n in range(8)))
    answered = set()
    async with asyncio.timeout(20):
        while len(answered) < 8:
            arrived = await take_for(layer, channel, 0.3)  # no receipt yet: at most three were sent
            fresh = {event["id"]: event for event in arrived if event["id"] not in answered}
            assert len(fresh) <= 3, sorted(fresh)
            for event in fresh.values():
                await answer(layer, event)
            answered |= set(fresh)
    assert await publishes == [f"burst-{n}" for n in range(8)]


async def test_a_publish_that_gets_no_slot_in_time_says_so(settings, channel):
    settings.ATM_PUBLISH_IN_FLIGHT = 1
    waiting = asyncio.ensure_future(events.apublish(start(1), confirm=True, timeout=5))
    await asyncio.wait_for(get_channel_layer().receive(channel), 5)  # the first was sent: it holds the slot
    with pytest.raises(events.EventNotConfirmedError, match=r"burst-2.*ATM_PUBLISH_IN_FLIGHT"):
        await events.apublish(start(2), confirm=True, timeout=0.3)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_the_publishes_of_a_process_share_one_reply_channel(channel):
    layer = get_channel_layer()
    publishes = asyncio.gather(*(events.apublish(start(n), confirm=True, timeout=10) for n in range(3)))
    arrived = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(3)]
    assert len({event["reply_channel"] for event in arrived}) == 1
    assert arrived[0]["reply_channel"].startswith("automations.receipt.")
    for event in reversed(arrived):  # in any order, and one receipt twice: the copy is dropped
        await answer(layer, event)
    await answer(layer, arrived[0])
    assert len(await publishes) == 3


# -- re-sends ---------------------------------------------------------------------------------------


def test_the_wait_before_a_re_send_follows_the_time_receipts_take(settings):
    settings.ATM_CONFIRM_FIRST_WAIT, settings.ATM_CONFIRM_LONGEST_WAIT = 1.0, 5.0
    pace = confirming.Pace()
    assert pace.first_wait() == 1.0
    for _ in range(20):
        pace.observe(0.05)
    assert pace.first_wait() == 1.0  # quick receipts: never below the setting
    for _ in range(20):
        pace.observe(2.0)
    assert 2.0 < pace.first_wait() < 5.0  # a busy worker is given time before the event goes again
    for _ in range(5):
        pace.observe(30.0)
    assert pace.first_wait() == 5.0


async def test_a_receipt_that_comes_late_is_not_answered_with_a_re_send(settings, channel):
    settings.ATM_CONFIRM_FIRST_WAIT = 0.2
    layer = get_channel_layer()
    await where_confirmed(lambda: confirming.loop_state().pace.observe(1.0))  # receipts took a second lately
    publish = asyncio.ensure_future(events.apublish(start(1), confirm=True, timeout=10))
    first = await asyncio.wait_for(layer.receive(channel), 5)
    assert await take_for(layer, channel, 0.6) == []  # not sent again after 0.2 s
    await answer(layer, first)
    await publish


async def where_confirmed(function):
    """Call ``function`` on the loop where confirmed publishes run (this one, or the publishing loop)."""
    if confirming.runs_here():
        return function()

    async def call():
        return function()

    return await asyncio.wrap_future(publisher.schedule(call))


# -- receipts to a full reply channel ---------------------------------------------------------------


async def fill(layer, channel):
    """Fill ``channel`` to the layer's capacity; return how many messages it took."""
    capacity = layer.get_capacity(channel)
    for number in range(capacity):
        await layer.send(channel, {"type": "filler", "number": number})
    return capacity


def receipt_intake(event_id, reply_channel):
    raw = {**start(0), "id": event_id, "reply_channel": reply_channel}
    return inbox.read(raw)


async def test_a_receipt_to_a_full_reply_channel_is_sent_once_there_is_room():
    layer = get_channel_layer()
    reply_channel = await layer.new_channel(f"automations.receipt.{uuid.uuid4().hex[:8]}.")
    capacity = await fill(layer, reply_channel)

    async def make_room():
        await asyncio.sleep(0.1)
        return await layer.receive(reply_channel)

    room = asyncio.ensure_future(make_room())
    await intake.send_receipts(layer, [receipt_intake("full-1", reply_channel)])
    assert (await room)["type"] == "filler"
    received = [await layer.receive(reply_channel) for _ in range(capacity)]
    assert received[-1] == events.receipt("full-1")


async def test_a_reply_channel_that_stays_full_costs_a_second_at_most_and_is_logged(caplog, monkeypatch):
    monkeypatch.setattr(intake, "RECEIPT_PATIENCE", 0.2)
    layer = get_channel_layer()
    reply_channel = await layer.new_channel(f"automations.receipt.{uuid.uuid4().hex[:8]}.")
    await fill(layer, reply_channel)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with caplog.at_level(logging.WARNING, logger="automations.scheduler"):
        await intake.send_receipts(layer, [receipt_intake("full-2", reply_channel),
                                           receipt_intake("full-3", reply_channel)])  # fmt: skip
    assert loop.time() - began < 1.0  # both together waited the patience once
    dropped = [record.getMessage() for record in caplog.records if "not sent" in record.getMessage()]
    assert len(dropped) == 2 and "id 'full-2'" in dropped[0] and "stayed full" in dropped[0]


# -- the system check -------------------------------------------------------------------------------

REDIS = "channels_redis.core.RedisChannelLayer"


def test_a_reply_capacity_below_twice_the_cap_is_w021(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": REDIS, "CONFIG": {"capacity": 60}}}
    settings.ATM_PUBLISH_IN_FLIGHT = 50
    assert check_reply_capacity() == [
        checks.Warning(
            "ATM_PUBLISH_IN_FLIGHT is 50, but the channel layer holds only 60 messages for the reply "
            "channels of a process: receipts of confirmed publishes may be refused and their events sent "
            "again.",
            hint="Give the layer's CONFIG a 'channel_capacity' of at least 100 for 'automations.receipt.*' "
            "(or a larger 'capacity'), or lower ATM_PUBLISH_IN_FLIGHT.",
            id="automations.W021",
        )
    ]
    settings.ATM_PUBLISH_IN_FLIGHT = 30
    assert check_reply_capacity() == []


def test_a_channel_capacity_for_the_reply_channels_passes_w021(settings):
    settings.ATM_PUBLISH_IN_FLIGHT = 200
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": REDIS, "CONFIG": {
        "capacity": 100, "channel_capacity": {"automations.receipt.*": 400}}}}  # fmt: skip
    assert check_reply_capacity() == []
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert check_reply_capacity() == []  # its channels do not share a list
