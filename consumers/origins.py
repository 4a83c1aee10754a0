"""The origin check of the sockets: Channels' for browsers; API clients log in by their token only.

A browser sends an ``Origin`` header with every websocket handshake and cannot set an
``Authorization`` header. Channels' ``AllowedHostsOriginValidator`` refuses a handshake whose
origin is not in ``ALLOWED_HOSTS``, so that another site's page cannot open a socket with its
visitor's session cookie; it refuses handshakes without an ``Origin`` too. A handshake with an
``Authorization`` header and no ``Origin`` comes from a script or an app, not a browser:
:class:`AllowedHostsOrTokenClientValidator` lets it through with its cookies removed, so it is
logged in by its API token or not at all.
"""

from __future__ import annotations

from channels.security.websocket import AllowedHostsOriginValidator


class AllowedHostsOrTokenClientValidator:
    """Wrap a websocket application: check browsers' origins as Channels does; let token clients in.

    Use it where ``AllowedHostsOriginValidator`` would go::

        "websocket": AllowedHostsOrTokenClientValidator(AuthMiddlewareStack(URLRouter(routes)))
    """

    def __init__(self, application):
        self.application = application
        self.browsers = AllowedHostsOriginValidator(application)

    async def __call__(self, scope, receive, send):
        headers = scope.get("headers") or []
        names = {name.lower() for name, _ in headers}
        if b"origin" in names or b"authorization" not in names:
            return await self.browsers(scope, receive, send)
        without_cookies = [(name, value) for name, value in headers if name.lower() != b"cookie"]
        return await self.application({**scope, "headers": without_cookies}, receive, send)
