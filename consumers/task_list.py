"""The live task list: a websocket that keeps a user's open tasks up to date.

Mounted at ``ws/automations/tasks/`` (see :data:`websocket_urlpatterns`) behind Channels'
``AuthMiddlewareStack``: the user is the one of the session cookie, or of an API token
(:mod:`consumers.login`); other sockets are closed with 4401.
A socket opened with a session lives as long as that session is the user's: before every list it
sends (a push or a ``refresh``), the session is read again, and a session that has ended (logged
out, expired, flushed because the password changed) or belongs to another user now closes the
socket with code 4401, as does a deleted token or a user who may not log in any more. On
connect (or once a token's ``authenticate`` message logged it in), and whenever
:mod:`automations.tasklist.live` reports that the user's tasks may have changed, the socket sends::

    {"type": "tasks", "count": 2, "tasks": [{"id": 7, "url": "/automations/tasks/7/", ...}],
     "html": "<div class=\"atm-task-list\" ...>...</div>"}

``html`` is ``automations/includes/task_list.html`` rendered for the user (sorted and paged by
the socket's query string: ``?sort=newest&queue_page=2``); the list is always
computed for the socket's own user, so it never holds a task they may not process. ``count`` leaves
out the snoozed tasks (each task says ``snoozed_until``); when the first snooze ends, the socket
sends the list again by itself, so the task comes back without a reload.

API clients connect with ``?format=json`` (or send ``{"type": "format", "format": "json"}``) and
then get the tasks as the JSON API describes them, without HTML::

    {"type": "tasks", "format": "json", "count": 2, "tasks": [{"id": 7, "section": "queue", ...}]}

(each task as ``GET automations/api/tasks/`` lists it, snoozed ones with ``section: "snoozed"``;
see ``docs/api.md``).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone, translation

from automations import delegation
from automations.api import describe
from automations.tasklist.inbox import PARAMETERS
from automations.tasklist.live import EVERYONE_GROUP, user_group
from automations.tasklist.queries import open_task_list_for
from automations.templatetags.automations import task_automation_name, task_description

from .login import CLOSE_UNAUTHENTICATED, LoginConsumer

TASKS_PATH = "ws/automations/tasks/"


class TaskListConsumer(LoginConsumer):
    """Send the socket's user their open tasks, now, after every change, and when a snooze ends.

    ``call_later`` arms the timer of the next snooze's end (a test gives the frozen clock's).
    """

    accepts_tokens = True
    returns_at = None
    return_timer = None

    async def logged_in(self):
        self.language = _language(self.scope)
        self.inbox_params = _inbox_params(self.scope)
        self.json_only = wants_json(self.scope)
        self.joined = [user_group(self.user_id), EVERYONE_GROUP]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.open()
        await self.send_tasks()

    async def disconnect(self, code):
        await super().disconnect(code)
        self._disarm()
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_message(self, content):
        if not isinstance(content, dict):
            return
        if content.get("type") == "format" and content.get("format") in ("json", "html"):
            self.json_only = content["format"] == "json"
            await self.send_tasks()
        elif content.get("type") == "refresh":
            await self.send_tasks()

    async def tasks_changed(self, event):
        await self.send_tasks()

    async def send_tasks(self):
        payload = await database_sync_to_async(self.task_payload)()
        if payload is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.send_json(payload)
        self._arm()

    def _arm(self):
        """Send the list again when the first snooze ends (any timer armed before is replaced)."""
        self._disarm()
        if self.returns_at is not None:
            delay = max((self.returns_at - timezone.now()).total_seconds(), 0.0)
            self.return_timer = self.call_later(delay, lambda: asyncio.ensure_future(self.send_tasks()))

    def _disarm(self):
        if self.return_timer is not None:
            self.return_timer.cancel()
            self.return_timer = None

    def task_payload(self) -> dict | None:
        """Return the message for the socket's user, or ``None`` if the socket must close.

        It must close when the user may not log in any more, or when its session ended or changed
        user, or its token was deleted.
        """
        if not self.login_holds():
            return None
        user = get_user_model()._default_manager.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return None
        with translation.override(self.language):
            tasks = open_task_list_for(user)
            now = timezone.now()
            snoozes = [task.snoozed_until for task in tasks if (task.snoozed_until or now) > now]
            self.returns_at = min(snoozes, default=None)
            if self.json_only:
                represented = delegation.represented_by(user)
                described = [describe.task(task, user, represented) for task in tasks]
                count = len(tasks) - len(snoozes)
                return {"type": "tasks", "format": "json", "count": count, "tasks": described}
            context = {"tasks": tasks, "user": user, "inbox_params": self.inbox_params}
            html = render_to_string("automations/includes/task_list.html", context)
            return {
                "type": "tasks",
                "count": len(tasks) - len(snoozes),
                "tasks": [_describe(task) for task in tasks],
                "html": html,
            }


def _describe(task) -> dict:
    return {
        "id": task.pk,
        "url": _task_url(task),
        "node": task.status,
        "description": str(task_description(task)),
        "automation": str(task_automation_name(task)),
        "created": task.created.isoformat(),
        "snoozed_until": task.snoozed_until.isoformat() if task.snoozed_until else None,
    }


def _task_url(task) -> str | None:
    try:
        return reverse("automations:task", args=[task.pk])
    except NoReverseMatch:  # the project did not include automations.urls
        return None


def wants_json(scope) -> bool:
    """Return whether a socket's query string asks for JSON objects instead of HTML (``?format=json``)."""
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    return query.get("format", [""])[0] == "json"


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
