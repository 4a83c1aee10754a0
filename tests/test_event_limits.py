"""The limits of data from outside: size and depth of channel events, refused before they are stored.

The worker tests run on the channel layer of the settings: in-memory, or Redis in the PostgreSQL +
Redis runs.
"""

import asyncio
import json
import uuid

import pytest
from channels.db import database_sync_to_async
from hypothesis import given, settings
from hypothesis import strategies as st

from automations import events, jsonlimits
from automations.models import AutomationModel, InboxEvent
from automations.worker import Scheduler
from tests.test_scheduler import running, until
from tests.testapp.automations import Napper

db = database_sync_to_async
MB = 1024 * 1024


def compact_size(value) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**62), max_value=2**62),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@given(json_values)
@settings(max_examples=300, deadline=None)
def test_the_size_counted_is_the_size_of_compact_utf8_json(value):
    assert jsonlimits.check(value, limit=10 * MB) == compact_size(value)


@given(json_values, st.integers(min_value=0, max_value=400))
@settings(max_examples=300, deadline=None)
def test_a_value_is_refused_exactly_when_it_is_larger_than_the_limit(value, limit):
    if compact_size(value) <= limit:
        assert jsonlimits.check(value, limit=limit) == compact_size(value)
    else:
        with pytest.raises(jsonlimits.UnfitJSONError, match=f"at most {limit} bytes"):
            jsonlimits.check(value, limit=limit)


def nested(depth):
    value = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_depth_is_limited_without_recursion():
    jsonlimits.check(nested(64))
    assert jsonlimits.loads("[" * 65 + "]" * 65)  # the outermost list and 64 levels inside it
    with pytest.raises(jsonlimits.UnfitJSONError, match="nested at most 64 levels"):
        jsonlimits.check(nested(65))
    with pytest.raises(jsonlimits.UnfitJSONError, match="nested at most 64 levels"):
        jsonlimits.check(nested(100_000))


@pytest.mark.parametrize(
    "text, reason",
    [
        ("[" * 100_000, "nested at most 64 levels"),  # the parser's RecursionError
        ("[" * 66 + "]" * 66, "nested at most 64 levels"),
        ('"' + "x" * (256 * 1024) + '"', "at most 262144 bytes"),
        ("1" * 5000, "not valid JSON"),  # an integer too long to convert
        ('{"a": NaN}', "not a JSON number"),
        ('{"a": "\\u0000"}', "cannot hold NUL"),
        ('{"a": "\\ud800"}', "not Unicode"),
        ("{'a': 1}", "not valid JSON"),
    ],
)
def test_loads_refuses_with_the_reason(text, reason):
    with pytest.raises(jsonlimits.UnfitJSONError, match=reason):
        jsonlimits.loads(text)


def test_the_limit_is_a_setting(settings):
    settings.ATM_MAX_EVENT_SIZE = 100
    with pytest.raises(jsonlimits.UnfitJSONError, match="at most 100 bytes"):
        jsonlimits.check({"data": "x" * 100})
    assert jsonlimits.check({"data": "x" * 80}) == len('{"data":""}') + 80


def message_event(napper_id, event_id, data):
    return {"type": events.MESSAGE, "automation": napper_id, "message": "visit", "token": "t",
            "data": data, "id": event_id}  # fmt: skip


def test_publish_refuses_an_oversize_event_at_the_sender():
    with pytest.raises(events.InvalidEventError, match="at most 262144 bytes"):
        events.publish(message_event(1, "too-big", {"blob": "x" * MB}))
    with pytest.raises(events.InvalidEventError, match="nested at most 64 levels"):
        events.publish(message_event(1, "too-deep", nested(80)))


@pytest.fixture
def channel(settings):
    settings.ATM_CHANNEL_NAME = f"automations.test-limits.{uuid.uuid4().hex[:12]}"
    return settings.ATM_CHANNEL_NAME


@pytest.mark.django_db(transaction=True)
async def test_a_50_mb_event_is_refused_with_a_receipt_and_nothing_is_stored(channel):
    async with running(Scheduler(sweep_interval=3600)) as worker:
        layer = worker.channel_layer
        napper = await db(Napper)(seconds=60)
        reply = await layer.new_channel("test.receipt.")
        huge = message_event(napper.id, "fifty-mb", {"room": 1, "blob": "x" * (50 * MB)})
        huge["reply_channel"] = reply
        await layer.send(worker.channel, huge)
        del huge
        receipt = await asyncio.wait_for(layer.receive(reply), 30)
        assert receipt == {
            "type": events.RECEIPT,
            "id": "fifty-mb",
            "accepted": False,
            "error": "An automation.message event must be at most 262144 bytes as JSON.",
        }
        assert not await db(InboxEvent.objects.filter(pk="fifty-mb").exists)()
        # The worker goes on: an event just under the limit is stored and applied.
        fits = {**message_event(napper.id, "fits", {"room": 1, "blob": ""}), "reply_channel": reply}
        fits["data"]["blob"] = "x" * (256 * 1024 - compact_size(fits))
        assert compact_size(fits) == 256 * 1024
        await layer.send(worker.channel, fits)
        receipt = await asyncio.wait_for(layer.receive(reply), 10)
        assert receipt["accepted"] is True, receipt

        def visited():
            return len(AutomationModel.objects.get(pk=napper.id).data.get("visits", [])) == 1

        await until(visited)
