"""The live task list: a websocket that keeps a user's open tasks up to date.

Mounted at ``ws/automations/tasks/`` (see :data:`websocket_urlpatterns`) behind Channels'
``AuthMiddlewareStack``: the user is the one of the session cookie. Anonymous sockets are refused.
A socket opened with a session lives as long as that session is the user's: before every list it
sends (a push or a ``refresh``), the session is read again, and a session that has ended (logged
out, expired, flushed because the password changed) or belongs to another user now closes the
socket with code 4401, as does a user who may not log in any more. On connect, and whenever
:mod:`automations.tasklist.live` reports that the user's tasks may have changed, the socket sends::

    {"type": "tasks", "count": 2, "tasks": [{"id": 7, "url": "/automations/tasks/7/", ...}],
     "html": "<div class=\"atm-task-list\" ...>...</div>"}

``html`` is ``automations/includes/task_list.html`` rendered for the user (sorted and paged by
the socket's query string: ``?sort=newest&queue_page=2``); the list is always
computed for the socket's own user, so it never holds a task they may not process.
"""

from __future__ import annotations

from importlib import import_module
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.utils import translation

from automations import jsonlimits
from automations import settings as atm_settings
from automations.tasklist.inbox import PARAMETERS
from automations.tasklist.live import EVERYONE_GROUP, user_group
from automations.tasklist.queries import open_task_list_for
from automations.templatetags.automations import task_automation_name, task_description

TASKS_PATH = "ws/automations/tasks/"
CLOSE_UNAUTHENTICATED = 4401


class TaskListConsumer(AsyncJsonWebsocketConsumer):
    """Send the socket's user their open tasks, now and after every change."""

    async def connect(self):
        login = scope_login(self.scope)
        if login is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id, self.session_key = login
        self.language = _language(self.scope)
        self.inbox_params = _inbox_params(self.scope)
        self.joined = [user_group(self.user_id), EVERYONE_GROUP]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_tasks()

    async def disconnect(self, code):
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    @classmethod
    async def decode_json(cls, text_data):
        try:
            return jsonlimits.loads(text_data, limit=atm_settings.get("ATM_SOCKET_MESSAGE_SIZE"))
        except jsonlimits.UnfitJSONError:
            return None  # not JSON, too deep or too large: ignored like any message the socket does not know

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_tasks()

    async def tasks_changed(self, event):
        await self.send_tasks()

    async def send_tasks(self):
        payload = await database_sync_to_async(self.task_payload)()
        if payload is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.send_json(payload)

    def task_payload(self) -> dict | None:
        """Return the message for the socket's user, or ``None`` if the socket must close.

        It must close when the user may not log in any more, or when its session ended or changed
        user.
        """
        if self.session_key is not None and session_user_id(self.session_key) != self.user_id:
            return None
        user = get_user_model()._default_manager.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return None
        with translation.override(self.language):
            tasks = open_task_list_for(user)
            context = {"tasks": tasks, "user": user, "inbox_params": self.inbox_params}
            html = render_to_string("automations/includes/task_list.html", context)
            return {
                "type": "tasks",
                "count": len(tasks),
                "tasks": [_describe(task) for task in tasks],
                "html": html,
            }


def scope_login(scope) -> tuple[int, str | None] | None:
    """Return ``(user id, session key)`` of a socket's logged-in user, or ``None`` to refuse it.

    Without a session (a project's own authentication) the socket is bound to the user only, and
    the session key is ``None``; a session without a key (not logged in) is refused.
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


def _describe(task) -> dict:
    return {
        "id": task.pk,
        "url": _task_url(task),
        "node": task.status,
        "description": str(task_description(task)),
        "automation": str(task_automation_name(task)),
        "created": task.created.isoformat(),
    }


def _task_url(task) -> str | None:
    try:
        return reverse("automations:task", args=[task.pk])
    except NoReverseMatch:  # the project did not include automations.urls
        return None


def _inbox_params(scope) -> dict:
    """Return the sort and pages the page asked for in the socket's query string (``?sort=newest``)."""
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    return {name: query[name][0] for name in PARAMETERS if query.get(name)}


def _language(scope) -> str:
    """Return the language of the socket's page as Django chooses a request's: the language cookie,
    else the Accept-Language header, else ``LANGUAGE_CODE`` (``get_language_from_request``)."""
    request = HttpRequest()
    request.COOKIES = dict(scope.get("cookies") or {})
    for name, value in scope.get("headers") or ():
        if name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)


websocket_urlpatterns = [path(TASKS_PATH, TaskListConsumer.as_asgi(), name="automations-tasks")]
