"""Who a socket's user is: the session's, or an API token's, checked again before every message.

:class:`LoginConsumer` is the base of the sockets with a user. A socket with a logged-in session
(Channels' ``AuthMiddlewareStack``) is that session's user's. A socket of a class that
``accepts_tokens`` may instead log in with an API token (:mod:`automations.api.socket_auth`): in an
``Authorization: Token <key>`` header of the handshake, or, as a browser cannot set headers, in
``{"type": "authenticate", "token": "<key>"}`` as its first message. Such a socket is accepted,
sent nothing, and closed with 4401 unless that message comes within
:data:`~automations.api.socket_auth.AUTHENTICATE_WITHIN` seconds with a token of an active user.
Every other socket is refused with 4401.

Before each message it sends, a socket asks :meth:`LoginConsumer.login_holds` whether its login
still stands: its session still the user's, or its token not deleted, and the user still active.
"""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest

from automations import jsonlimits
from automations import settings as atm_settings
from automations.api import socket_auth

CLOSE_UNAUTHENTICATED = 4401


def call_later(delay: float, callback):
    """Call ``callback()`` after ``delay`` seconds on the running event loop; return a handle to cancel."""
    return asyncio.get_running_loop().call_later(delay, callback)


class LoginConsumer(AsyncJsonWebsocketConsumer):
    """A socket bound to its user's session or API token; subclasses start in :meth:`logged_in`.

    ``call_later`` arms timers (a test gives the frozen clock's).
    """

    accepts_tokens = False
    call_later = staticmethod(call_later)
    user_id: Any = None  # the user's primary key, once logged in
    session_key: str | None = None
    token: str | None = None
    is_open = False
    login_timer = None

    async def connect(self):
        login = scope_login(self.scope)
        if login is not None:
            self.user_id, self.session_key = login
            await self.logged_in()
        elif not (self.accepts_tokens and socket_auth.tokens_in_use()):
            await self.close(code=CLOSE_UNAUTHENTICATED)
        elif (token := socket_auth.header_token(self.scope)) is not None:
            await self.log_in_with(token)
        else:
            await self.open()
            expired = lambda: asyncio.ensure_future(self.login_expired())  # noqa: E731
            self.login_timer = self.call_later(socket_auth.AUTHENTICATE_WITHIN, expired)

    async def disconnect(self, code):
        self.stop_waiting_for_login()

    async def receive_json(self, content, **kwargs):
        if self.user_id is not None:
            await self.receive_message(content)
            return
        self.stop_waiting_for_login()
        token = socket_auth.message_token(content)
        if token is None:
            await self.refuse()
        else:
            await self.log_in_with(token)

    async def log_in_with(self, token: str):
        user_id = await database_sync_to_async(socket_auth.token_user_id)(token)
        if user_id is None:
            await self.refuse()
            return
        self.user_id, self.token = user_id, token
        await self.logged_in()

    async def logged_in(self):
        """Start the socket of ``self.user_id`` (call :meth:`open` to accept it)."""
        raise NotImplementedError

    async def receive_message(self, content):
        """Handle a message of the logged-in client (decoded; ``None`` if it was not fit JSON)."""

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return jsonlimits.loads(text_data, limit=atm_settings.get("ATM_SOCKET_MESSAGE_SIZE"))
        except jsonlimits.UnfitJSONError:
            return None  # not JSON, too deep or too large: ignored like any message the socket does not know

    async def open(self):
        """Accept the socket, unless it was accepted already to wait for its login."""
        if not self.is_open:
            self.is_open = True
            await self.accept()

    async def login_expired(self):
        self.login_timer = None
        if self.user_id is None:
            await self.refuse()

    async def refuse(self):
        self.stop_waiting_for_login()
        await self.close(code=CLOSE_UNAUTHENTICATED)

    def stop_waiting_for_login(self):
        if self.login_timer is not None:
            self.login_timer.cancel()
            self.login_timer = None

    def login_holds(self) -> bool:
        """Return whether the socket's session or token still logs its user in (sync: it reads the database).

        Whether the user is still active is the caller's to check, as it loads the user anyway.
        """
        if self.session_key is not None:
            return session_user_id(self.session_key) == self.user_id
        if self.token is not None:
            return socket_auth.token_user_id(self.token) == self.user_id
        return True


def scope_login(scope) -> tuple[int, str | None] | None:
    """Return ``(user id, session key)`` of a socket's logged-in user, or ``None`` if it has none.

    Without a session (a project's own authentication) the socket is bound to the user only, and
    the session key is ``None``; a session without a key (not logged in) gives ``None``.
    """
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        return None
    session = scope.get("session")
    session_key = getattr(session, "session_key", None) if session is not None else None
    if session is not None and session_key is None:
        return None
    return user.pk, session_key


def session_user_id(session_key: str):
    """Return the id of the user the session ``session_key`` is logged in as now, or ``None``.

    The session is read again from the session engine and checked as Django checks it for a
    request (the user's backend, the session's password hash, the user being active).
    """
    engine = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()  # get_user() reads its session only
    request.session = engine.SessionStore(session_key)
    user = auth.get_user(request)
    return user.pk if user.is_authenticated else None
