"""The console's lists, live: a socket that says when the instances changed, at most once a second.

Mounted at ``ws/automations/console/``. Active users with the ``automations.view_automationmodel``
permission may connect (4401 without a login, 4403 without the permission). The socket
listens on :data:`automations.diagram.live.CONSOLE_GROUP`, which is told after every step and
every action on an instance, and sends ``{"type": "changed"}``; a page (the instances list, the
dashboard, the errors page; ``console.js``) then fetches its own address again and puts the new
list in place. However many instances change, a socket sends at most one message per
:data:`THROTTLE` seconds: the first change at once, the changes after it together at the end of
the interval. The permission and the login are checked again before each message.

API clients log in with a token as on the other sockets (:mod:`consumers.login`), and fetch
``GET automations/api/instances/`` again when told (see ``docs/api.md``). A socket that logged in
by its first message is sent ``{"type": "changed"}`` once it listens.
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.urls import path

from automations.diagram.live import CONSOLE_GROUP

from .diagram import CLOSE_FORBIDDEN, VIEW_PERMISSION
from .login import CLOSE_UNAUTHENTICATED, LoginConsumer

CONSOLE_PATH = "ws/automations/console/"
THROTTLE = 1.0  # seconds between two messages of one socket


class ConsoleConsumer(LoginConsumer):
    """Tell a console page that instances changed, at most once per :data:`THROTTLE` seconds."""

    accepts_tokens = True
    last_sent = 0.0
    pending: asyncio.Task | None = None
    joined = False

    async def logged_in(self):
        code = await database_sync_to_async(self.refusal)()
        if code:
            await self.close(code=code)
            return
        await self.channel_layer.group_add(CONSOLE_GROUP, self.channel_name)
        self.joined = True
        by_message = self.is_open  # accepted before, to wait for its token
        await self.open()
        if by_message:  # the client cannot tell when it listens: it is told to fetch the list now
            await self.send_changed()

    async def disconnect(self, code):
        await super().disconnect(code)
        if self.joined:
            await self.channel_layer.group_discard(CONSOLE_GROUP, self.channel_name)
        if self.pending is not None:
            self.pending.cancel()

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
        if not self.login_holds():
            return CLOSE_UNAUTHENTICATED
        user = get_user_model()._default_manager.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return CLOSE_UNAUTHENTICATED
        return 0 if user.has_perm(VIEW_PERMISSION) else CLOSE_FORBIDDEN


websocket_urlpatterns = [path(CONSOLE_PATH, ConsoleConsumer.as_asgi(), name="automations-console")]
