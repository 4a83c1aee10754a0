"""Channels consumers of Django Automations, with the routes another project mounts in its ``asgi.py``.

- :data:`websocket_urlpatterns`: the live task-list, instance-diagram, instance-page and console
  sockets (behind ``AuthMiddlewareStack``; the task list and the instance page also take an API
  token, see :mod:`consumers.login`).
- :data:`unknown_path_route`: the last websocket route, which refuses sockets on unknown paths.
- :class:`AllowedHostsOrTokenClientValidator`: the sockets' origin check (Channels' for browsers;
  a script or app with an ``Authorization`` header and no ``Origin`` logs in by its token only).
- :func:`channel_routes`: ``{ATM_CHANNEL_NAME: SchedulerConsumer}`` for a ``ChannelNameRouter``, so
  that ``manage.py runworker automations`` runs the scheduler worker.
"""

from automations import events

from .console import websocket_urlpatterns as console_websocket_urlpatterns
from .diagram import websocket_urlpatterns as diagram_websocket_urlpatterns
from .instance_page import websocket_urlpatterns as instance_page_websocket_urlpatterns
from .origins import AllowedHostsOrTokenClientValidator
from .scheduler import SchedulerConsumer
from .task_list import websocket_urlpatterns as task_websocket_urlpatterns
from .unknown import unknown_path_route

websocket_urlpatterns = [
    *task_websocket_urlpatterns,
    *diagram_websocket_urlpatterns,
    *instance_page_websocket_urlpatterns,
    *console_websocket_urlpatterns,
]


def channel_routes() -> dict:
    """Return the channel-name routes of the scheduler worker, for ``ChannelNameRouter``."""
    return {events.channel_name(): SchedulerConsumer.as_asgi()}


__all__ = [
    "AllowedHostsOrTokenClientValidator",
    "channel_routes",
    "unknown_path_route",
    "websocket_urlpatterns",
]
