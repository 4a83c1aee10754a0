"""The site's ASGI routing: Django for HTTP, the consumers' routes for websockets.

Another project mounts the same consumers in its own ``asgi.py`` with
``URLRouter(consumers.websocket_urlpatterns)`` behind ``AuthMiddlewareStack``.
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

import consumers


def build_application(http_application=None):
    """Return the protocol router: ``http_application`` (default: Django) and the websockets."""
    return ProtocolTypeRouter(
        {
            "http": http_application or get_asgi_application(),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(consumers.websocket_urlpatterns))
            ),
        }
    )
