"""The console's lists, live: a socket that says when the instances changed, at most once a second.

Mounted at ``ws/automations/console/``. Active users with the ``automations.view_automationmodel``
permission may connect (4401 without a user or session, 4403 without the permission). The socket
listens on :data:`automations.diagram.live.CONSOLE_GROUP`, which is told after every step and
every action on an instance, and sends ``{"type": "changed"}``; a page (the instances list, the
dashboard, the errors page; ``console.js``) then fetches its own address again and puts the new
list in place. However many instances change, a socket sends at most one message per
:data:`THROTTLE` seconds: the first change at once, the changes after it together at the end of
the interval. The permission and the session are checked again before each message.
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.urls import path

from automations.diagram.live import CONSOLE_GROUP

from .diagram import CLOSE_FORBIDDEN, VIEW_PERMISSION
from .login import CLOSE_UNAUTHENTICATED, scope_login, session_user_id

CONSOLE_PATH = "ws/automations/console/"
THROTTLE = 1.0  # seconds between two messages of one socket


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    """Tell a console page that instances changed, at most once per :data:`THROTTLE` seconds."""

    async def connect(self):
        login = scope_login(self.scope)
        if login is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id, self.session_key = login
        code = await database_sync_to_async(self.refusal)()
        if code:
            await self.close(code=code)
            return
        self.last_sent = 0.0
        self.pending: asyncio.Task | None = None
        await self.channel_layer.group_add(CONSOLE_GROUP, self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(CONSOLE_GROUP, self.channel_name)
        pending = getattr(self, "pending", None)
        if pending is not None:
            pending.cancel()

    async def receive_json(self, content, **kwargs):
        """The pages send nothing; whatever arrives is ignored."""

    @classmethod
    async def decode_json(cls, text_data):
        return None

    async def instance_moved(self, event):
        if self.pending is not None:
            return  # a message is due at the end of the interval already
        wait = self.last_sent + THROTTLE - time.monotonic()
        if wait <= 0:
            await self.send_changed()
        else:
            self.pending = asyncio.ensure_future(self.send_later(wait))

    async def send_later(self, wait: float):
        await asyncio.sleep(wait)
        self.pending = None
        await self.send_changed()

    async def send_changed(self):
        code = await database_sync_to_async(self.refusal)()
        if code:
            await self.close(code=code)
            return
        self.last_sent = time.monotonic()
        await self.send_json({"type": "changed"})

    def refusal(self) -> int:
        """Return the close code if the socket's user may not see the console (any more), else 0."""
        if self.session_key is not None and session_user_id(self.session_key) != self.user_id:
            return CLOSE_UNAUTHENTICATED
        user = get_user_model()._default_manager.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return CLOSE_UNAUTHENTICATED
        return 0 if user.has_perm(VIEW_PERMISSION) else CLOSE_FORBIDDEN


websocket_urlpatterns = [path(CONSOLE_PATH, ConsoleConsumer.as_asgi(), name="automations-console")]
