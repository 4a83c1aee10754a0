"""Channels consumers of Django Automations; mount :data:`websocket_urlpatterns` in your ``asgi.py``."""

from .tasks import websocket_urlpatterns as task_websocket_urlpatterns

websocket_urlpatterns = [*task_websocket_urlpatterns]

__all__ = ["websocket_urlpatterns"]
