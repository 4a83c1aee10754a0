"""Tell open instance-diagram sockets that their instance moved.

Every instance diagram socket (:mod:`consumers.diagram`) listens on the channel-layer group of its
instance. When a step of the instance has committed (the engine hook :func:`after_step`) or the
instance is deleted, the group is told; each socket then reads the instance's state again and sends
it. A lost hint only leaves a diagram stale until the next one.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import channels.layers
from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models.signals import pre_delete

from automations import publisher
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

    Never waits for the network: with the in-memory layer, a hint that no socket of this process
    listens to is not sent at all; with another channel layer, the hint is
    handed to the process's publishing loop (:mod:`automations.publisher`), so that a step does not
    pay a round trip for diagrams that nobody may be watching; hints that wait there meanwhile go out
    together, each group once.
    """
    layer = channels.layers.get_channel_layer()
    if layer is None:
        return
    group = instance_group(automation_id)
    if not isinstance(layer, channels.layers.InMemoryChannelLayer):
        _hand_to_publisher(group)
        return
    if not layer.groups.get(group):  # nobody in this process watches the instance: nothing to send
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


_waiting: set[str] = set()  # groups whose hint waits for the publishing loop
_waiting_lock = threading.Lock()


def _hand_to_publisher(group) -> None:
    """Queue a hint for the process's publishing loop; hints queued meanwhile go out together."""
    with _waiting_lock:
        first = not _waiting
        _waiting.add(group)
    if not first:
        return
    try:
        publisher.submit(_send_waiting)
    except Exception as exc:  # e.g. at interpreter shutdown: never break the step
        with _waiting_lock:
            _waiting.clear()
        logger.error("Could not notify the diagrams of group %s: %s", group, shown(exc))


async def _send_waiting():
    with _waiting_lock:
        groups = set(_waiting)
        _waiting.clear()
    await _send_all(publisher.channel_layer(), groups)


def after_step(report) -> None:
    """After a step committed: tell the instance's diagrams (an engine hook, see ``engine.hooks``)."""
    if report.result.visits:
        notify_instance(report.automation.id)


def _deleted(sender, instance, **kwargs):
    automation_id = instance.pk
    transaction.on_commit(lambda: notify_instance(automation_id))


def connect_receivers():
    """Connect the receiver that notices instances deleted (called by the app config).

    Steps are followed by :func:`after_step`, which the app config registers as an engine hook.
    """
    uid = "automations.diagram.live."
    pre_delete.connect(_deleted, sender=AutomationModel, dispatch_uid=uid + "deleted")
