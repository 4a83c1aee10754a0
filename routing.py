"""The site's ASGI routing: Django for HTTP, the consumers' routes for websockets and channels.

Another project mounts the same consumers in its own ``asgi.py``::

    ProtocolTypeRouter({
        "http": django_asgi_app,
        "websocket": consumers.AllowedHostsOrTokenClientValidator(
            AuthMiddlewareStack(URLRouter([*consumers.websocket_urlpatterns, consumers.unknown_path_route]))
        ),
        "channel": ChannelNameRouter(consumers.channel_routes()),
    })

``consumers.AllowedHostsOrTokenClientValidator`` is Channels' ``AllowedHostsOriginValidator`` for
browsers; it also lets in API clients that send a token and no ``Origin`` header (without their
cookies). ``consumers.unknown_path_route`` comes last: it refuses a socket on a path no route
knows, where ``URLRouter`` alone would fail the handshake with a server error.
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

import consumers


def build_application(http_application=None):
    """Return the protocol router: ``http_application`` (default: Django), websockets and the worker."""
    websocket_routes = [*consumers.websocket_urlpatterns, consumers.unknown_path_route]
    return ProtocolTypeRouter(
        {
            "http": http_application or get_asgi_application(),
            "websocket": consumers.AllowedHostsOrTokenClientValidator(
                AuthMiddlewareStack(URLRouter(websocket_routes))
            ),
            "channel": ChannelNameRouter(consumers.channel_routes()),
        }
    )
