"""A channels-redis layer that counts what the publish-burst benchmark's process sends and receives.

``bench/publish_burst.py`` configures it as the benchmark process's ``CHANNEL_LAYERS`` backend (the
workers use the plain one): every event sent to the workers' channel beyond one per publish is a
re-send, every receipt beyond one per publish a duplicate.
"""

from __future__ import annotations

import time
from collections import Counter

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer

counts: Counter[str] = Counter()
first_sent: dict[str, float] = {}  # event id -> when it was first sent to the workers
round_trips: list[float] = []  # first send -> first receipt, per event


class CountingRedisLayer(RedisChannelLayer):
    """``RedisChannelLayer`` that counts sends (by kind of channel), refusals and receipts received,
    and times each event's first send to its first receipt."""

    async def send(self, channel, message):
        """Send as the parent does; count the send, or the ``ChannelFull`` it raised."""
        kind = "reply" if "!" in channel else "worker"
        try:
            await super().send(channel, message)
        except ChannelFull:
            counts[f"{kind} channel full"] += 1
            raise
        counts[f"sent to {kind}"] += 1
        if kind == "worker" and isinstance(message.get("id"), str):
            first_sent.setdefault(message["id"], time.perf_counter())

    async def receive(self, channel):
        """Receive as the parent does; count receipts."""
        message = await super().receive(channel)
        if isinstance(message, dict) and message.get("type") == "automation.receipt":
            counts["receipts received"] += 1
            sent = first_sent.get(message.get("id"))
            if sent is not None and sent > 0:
                round_trips.append(time.perf_counter() - sent)
                first_sent[message["id"]] = 0.0  # timed: later copies are not
        return message
