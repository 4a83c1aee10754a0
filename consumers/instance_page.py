"""The live instance page: one socket message carries the diagram and every other part of the page.

Mounted at ``ws/automations/instances/<automation_id>/`` with the rules of the diagram socket
(:mod:`consumers.diagram`: the view permission, checked again before every message). Its messages
are the diagram's, with one more key: ``page``, the HTML of each part of the instance page as
this user sees it (``title``, ``facts``, ``actions``, ``positions``, ``data``, ``errors``,
``history``; see :data:`automations.views.instances.LIVE_PARTS`), which ``instance.js`` puts in
place. The socket is told after every step of the instance and every action on it.

API clients connect with ``?format=json`` and get, instead of the diagram and the HTML parts, the
instance as ``GET automations/api/instances/<id>/`` describes it, now and after every change
(unlike the diagram's socket, this one also takes an API token: see :mod:`consumers.login`)::

    {"type": "instance", "automation": 7, "instance": {"id": 7, "status": "running", ...}}

and ``{"type": "gone", "automation": 7}`` when it was deleted (see ``docs/api.md``).

The page's message is read and rendered in a small pool of threads of its own (:func:`rendering`,
``ATM_LIVE_PAGE_THREADS``),
not in the one thread that runs the server's sync code: the sockets of several instances that moved
at once render side by side, overlapping their queries, and none waits behind a page request.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

from channels.db import database_sync_to_async
from django.urls import path

from automations import settings as atm_settings
from automations.api import describe
from automations.models import AutomationModel
from automations.views.instances import live_parts

from .diagram import InstanceDiagramConsumer
from .task_list import wants_json

INSTANCE_PAGE_PATH = "ws/automations/instances/<int:automation_id>/"


@functools.cache
def rendering() -> ThreadPoolExecutor:
    """Return the process's pool of threads that read and render instance pages' messages."""
    threads = atm_settings.get("ATM_LIVE_PAGE_THREADS")
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="automations-instance-pages")


class InstancePageConsumer(InstanceDiagramConsumer):
    """Send the instance page's parts with its diagram, now and whenever the instance changes."""

    accepts_tokens = True
    json_only = False  # ``?format=json``: the instance as the JSON API describes it, without HTML

    async def connect(self):
        self.json_only = wants_json(self.scope)
        await super().connect()

    async def read_state(self) -> tuple[dict | None, int]:
        read = database_sync_to_async(self.diagram_message, thread_sensitive=False, executor=rendering())
        return await read()

    def state_message(self, user, automation: AutomationModel, graph) -> dict:
        if self.json_only:
            return {
                "type": "instance",
                "automation": automation.pk,
                "instance": describe.instance(automation, user),
            }
        message = super().state_message(user, automation, graph)
        message["page"] = live_parts(automation, user)
        return message


websocket_urlpatterns = [
    path(INSTANCE_PAGE_PATH, InstancePageConsumer.as_asgi(), name="automations-instance-page")
]
