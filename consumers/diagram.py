"""The live instance diagram: a websocket that tells a page where one instance stands.

Mounted at ``ws/automations/diagram/<automation_id>/`` behind Channels' ``AuthMiddlewareStack``.
Only active users with the ``automations.view_automationmodel`` permission may connect; others are
refused (4401 without a user or session, 4403 without the permission, 4404 for an unknown
instance). The session and the permission are checked again before every message, so a socket
whose user logged out or lost the permission closes. On connect, and whenever
:mod:`automations.diagram.live` reports that the instance moved, the socket sends::

    {"type": "diagram", "automation": 7, "current": ["approve"], "visited": ["enter"], "skipped": [],
     "failed": [], "taken": [["enter", "approve", "next"]], "visits": {"approve": 1, "enter": 1},
     "finished": false, "status": "Waiting at approve."}

and ``{"type": "gone", "automation": 7}`` (then closes with 4404) when the instance was deleted.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.urls import path
from django.utils import translation

from automations import registry
from automations.diagram import build_graph, instance_state
from automations.diagram.live import instance_group
from automations.diagram.state import instance_message
from automations.models import AutomationModel

from .login import CLOSE_UNAUTHENTICATED, LoginConsumer
from .task_list import _language

DIAGRAM_PATH = "ws/automations/diagram/<int:automation_id>/"
CLOSE_FORBIDDEN = 4403
CLOSE_GONE = 4404
VIEW_PERMISSION = "automations.view_automationmodel"


class InstanceDiagramConsumer(LoginConsumer):
    """Send where one instance stands, now and after every step."""

    async def logged_in(self):
        self.automation_id = self.scope["url_route"]["kwargs"]["automation_id"]
        self.language = _language(self.scope)
        message, code = await database_sync_to_async(self.diagram_message)()
        if message is None:
            await self.close(code=code)
            return
        self.group = instance_group(self.automation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.open()
        await self.send_json(message)

    async def disconnect(self, code):
        await super().disconnect(code)
        group = getattr(self, "group", None)
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_message(self, content):
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_state()

    async def instance_moved(self, event):
        await self.send_state()

    async def send_state(self):
        message, code = await self.read_state()
        if message is None:
            if code == CLOSE_GONE:
                await self.send_json({"type": "gone", "automation": self.automation_id})
            await self.close(code=code)
            return
        await self.send_json(message)

    async def read_state(self) -> tuple[dict | None, int]:
        """Return :meth:`diagram_message`, run in the server's thread for sync code."""
        return await database_sync_to_async(self.diagram_message)()

    def diagram_message(self) -> tuple[dict | None, int]:
        """Return ``(message, 0)``, or ``(None, close code)`` if the socket must close."""
        if not self.login_holds():
            return None, CLOSE_UNAUTHENTICATED
        user = get_user_model()._default_manager.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return None, CLOSE_UNAUTHENTICATED
        if not user.has_perm(VIEW_PERMISSION):
            return None, CLOSE_FORBIDDEN
        automation = AutomationModel.objects.filter(pk=self.automation_id).first()
        if automation is None:
            return None, CLOSE_GONE
        try:
            graph = build_graph(automation.get_automation_class())
        except registry.UnknownAutomationError:
            return None, CLOSE_GONE
        with translation.override(self.language):
            return self.state_message(user, automation, graph), 0

    def state_message(self, user, automation: AutomationModel, graph) -> dict:
        """Return the message that tells the page where ``automation`` stands, for ``user``."""
        return instance_message(automation, instance_state(graph, automation))


websocket_urlpatterns = [path(DIAGRAM_PATH, InstanceDiagramConsumer.as_asgi(), name="automations-diagram")]
