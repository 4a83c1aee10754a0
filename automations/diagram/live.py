"""Tell the open pages that watch instances that one moved: diagrams, instance pages, console lists.

Every instance diagram or instance page socket (:mod:`consumers.diagram`,
:mod:`consumers.instance_page`) listens on the channel-layer group of its instance; the console's
list sockets (:mod:`consumers.console`) on :data:`CONSOLE_GROUP`. When a step of an instance has
committed (the engine hook :func:`after_step`), a person acted on it (:mod:`automations.instance_actions`)
or it was deleted, both groups are told; each socket then reads again what it shows. A lost
hint only leaves a page stale until the next one.
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

EVENT_TYPE = "instance.moved"
CONSOLE_GROUP = "automations.console"  # the sockets of the instances list, the dashboard, the errors page
_in_flight: set = set()


def instance_group(automation_id) -> str:
    """Return the channel-layer group of the diagram sockets of instance ``automation_id``."""
    return f"automations.diagram.instance.{int(automation_id)}"


def notify_instance(automation_id) -> None:
    """Ask the sockets that watch instance ``automation_id`` (and the console's) to send it again.

    Never waits for the network: with the in-memory layer, a hint that no socket of this process
    listens to is not sent at all; with another channel layer, the hint is
    handed to the process's publishing loop (:mod:`automations.publisher`), so that a step does not
    pay a round trip for diagrams that nobody may be watching; hints that wait there meanwhile go out
    together, each group once.
    """
    layer = channels.layers.get_channel_layer()
    if layer is None:
        return
    for group in (instance_group(automation_id), CONSOLE_GROUP):
        _notify(layer, group)


def _notify(layer, group) -> None:
    if not isinstance(layer, channels.layers.InMemoryChannelLayer):
        _hand_to_publisher(group)
        return
    if not layer.groups.get(group):  # nobody in this process watches it: nothing to send
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
    """After a step committed: tell the instance's watchers (an engine hook, see ``engine.hooks``)."""
    if report.result.visits or report.result.error:
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
