"""Tell open instance-diagram sockets that their instance moved.

Every instance diagram socket (:mod:`consumers.diagram`) listens on the channel-layer group of its
instance. When a step of the instance has committed (``signals.automation_advanced``) or the
instance is deleted, the group is told; each socket then reads the instance's state again and sends
it. A lost hint only leaves a diagram stale until the next one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models.signals import pre_delete

from automations import signals
from automations.logsafe import shown
from automations.models import AutomationModel

logger = logging.getLogger("automations.diagram")

EVENT_TYPE = "diagram.moved"
_in_flight: set = set()


def instance_group(automation_id) -> str:
    """Return the channel-layer group of the diagram sockets of instance ``automation_id``."""
    return f"automations.diagram.instance.{int(automation_id)}"


def notify_instance(automation_id) -> None:
    """Ask the diagram sockets of instance ``automation_id`` to send its state again.

    Never waits for the network: with a channel layer other than the in-memory one, the hint is
    handed to a background thread, so that a step does not pay a round trip for diagrams that
    nobody may be watching.
    """
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    group = instance_group(automation_id)
    if not isinstance(layer, InMemoryChannelLayer):
        _background.send(group)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        async_to_sync(_send)(layer, group)
    else:  # called on an event loop (the embedded worker): send alongside, never block it
        task = loop.create_task(_send(layer, group))
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)


async def _send(layer, group):
    try:
        await layer.group_send(group, {"type": EVENT_TYPE})
    except Exception as exc:  # never break the step that moved the instance
        logger.error("Could not notify the diagrams of group %s: %s", group, shown(exc))


async def _send_all(layer, groups):
    for group in sorted(groups):  # one at a time: a connection pool has limits
        await _send(layer, group)


class _BackgroundSender:
    """One daemon thread with its own event loop and channel layer that sends the hints.

    The layer is the thread's own instance, so that its connections belong to the thread's loop
    (closing the shared layer, e.g. ``flush()``, does not touch them).
    """

    def __init__(self):
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def send(self, group) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.run, name="automations-diagram-hints", daemon=True)
                self.thread.start()
        self.queue.put(group)

    def run(self) -> None:
        from channels import DEFAULT_CHANNEL_LAYER
        from channels.layers import channel_layers
        from django.conf import settings

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        layer, configured = None, None
        while True:
            pending = {self.queue.get()}
            while True:  # hints that arrived meanwhile go out together, each group once
                try:
                    pending.add(self.queue.get_nowait())
                except queue.Empty:
                    break
            if layer is None or configured is not settings.CHANNEL_LAYERS:
                configured = settings.CHANNEL_LAYERS
                layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
            loop.run_until_complete(_send_all(layer, pending))


_background = _BackgroundSender()


def _advanced(sender, automation, **kwargs):
    notify_instance(automation.id)


def _deleted(sender, instance, **kwargs):
    automation_id = instance.pk
    transaction.on_commit(lambda: notify_instance(automation_id))


def connect_receivers():
    """Connect the receivers that notice instances moving (called by the app config)."""
    uid = "automations.diagram.live."
    signals.automation_advanced.connect(_advanced, dispatch_uid=uid + "advanced")
    pre_delete.connect(_deleted, sender=AutomationModel, dispatch_uid=uid + "deleted")
