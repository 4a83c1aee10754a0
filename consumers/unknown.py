"""The websocket route of last resort: a socket on a path that no route knows is refused.

Without it Channels' ``URLRouter`` raises ``ValueError`` for an unknown path, and the handshake ends
with a server error. Put :data:`unknown_path_route` last in the websocket routes.
"""

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

CLOSE_UNKNOWN_PATH = 4404


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Refuse the handshake of a socket whose path no other route matched."""

    async def connect(self):
        await self.close(code=CLOSE_UNKNOWN_PATH)


unknown_path_route = re_path(r"", UnknownPathConsumer.as_asgi(), name="automations-unknown-path")
