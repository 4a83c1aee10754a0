"""API tokens for the websockets: who a token logs in, read from a handshake's header or a message.

The tokens are Django REST framework's (``rest_framework.authtoken``, the ``api`` extra), the ones
``Authorization: Token <key>`` carries to the JSON API. This module loads without Django REST
framework: where ``rest_framework.authtoken`` is not installed, no token logs anybody in.
A client that can set headers sends ``Authorization: Token <key>`` with the handshake; a browser
cannot, so it sends :data:`AUTHENTICATE` as its first message instead::

    {"type": "authenticate", "token": "<key>"}

Tokens in the query string are not read: query strings end up in the logs of servers and proxies.
"""

from __future__ import annotations

from django.apps import apps

#: The type of the message that carries a token.
AUTHENTICATE = "authenticate"
#: Seconds an accepted socket without a login waits for its ``authenticate`` message.
AUTHENTICATE_WITHIN = 5.0


def tokens_in_use() -> bool:
    """Return whether the project has API tokens (``rest_framework.authtoken`` is installed)."""
    return apps.is_installed("rest_framework.authtoken")


def header_token(scope) -> str | None:
    """Return the key of a handshake's ``Authorization: Token <key>`` header, or ``None`` without one.

    A header of another scheme counts as none. A ``Token`` header without a key, or with more
    than one word after the scheme, gives ``""``, which logs nobody in.
    """
    for name, value in scope.get("headers") or ():
        if name.lower() != b"authorization":
            continue
        scheme, _, key = value.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "token":
            return None
        key = key.strip()
        return "" if " " in key else key
    return None


def message_token(content) -> str | None:
    """Return the key of an ``{"type": "authenticate", "token": "<key>"}`` message, else ``None``."""
    if isinstance(content, dict) and content.get("type") == AUTHENTICATE:
        token = content.get("token")
        if isinstance(token, str):
            return token
    return None


def token_user_id(key: str):
    """Return the id of the active user whose token is ``key``, or ``None``.

    ``None`` also when the token was deleted, its user may not log in any more, or the project
    has no tokens. Called again before every message a token's socket sends.
    """
    if not key or not tokens_in_use():
        return None
    token_model = apps.get_model("authtoken", "Token")
    token = token_model.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user.pk
