"""API tokens on the websockets: in the handshake's header or a first message, checked before every list."""

import pytest
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

import consumers
from automations.api import socket_auth
from automations.models import AutomationModel
from automations.testing import frozen_clock
from consumers.console import THROTTLE
from consumers.diagram import CLOSE_FORBIDDEN
from consumers.login import CLOSE_UNAUTHENTICATED
from consumers.task_list import TaskListConsumer
from tests.api.flows import INSTANCE_PERMISSIONS, DecidersApproval
from tests.people.flows import make_user
from tests.people.test_diagram_views import empty_channel_layer  # noqa: F401 - a fixture

pytestmark = [pytest.mark.usefixtures("empty_channel_layer"), pytest.mark.django_db(transaction=True)]
sync = database_sync_to_async
TASKS = "/ws/automations/tasks/?format=json"
CONSOLE = "/ws/automations/console/"
CLOSED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


def application():
    """The sockets behind the site's session middleware, as ``routing.py`` mounts them (no origin check)."""
    return AuthMiddlewareStack(URLRouter(consumers.websocket_urlpatterns))


@sync
def user_with_token(username, **options) -> tuple[User, str]:
    user = make_user(username, **options)
    return user, Token.objects.create(user=user).key


def with_header(path, key):
    return WebsocketCommunicator(application(), path, headers=[(b"authorization", f"Token {key}".encode())])


async def logged_in_by_message(path, key):
    communicator = WebsocketCommunicator(application(), path)
    assert (await communicator.connect())[0]
    assert await communicator.receive_nothing()  # nothing before the login
    await communicator.send_json_to({"type": "authenticate", "token": key})
    return communicator


async def test_a_token_in_the_header_gets_the_users_tasks_and_their_changes():
    _, key = await user_with_token("mia", groups=["Deciders"])
    automation = await sync(DecidersApproval)()
    communicator = with_header(TASKS, key)
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert (
        first["format"] == "json" and first["count"] == 1 and first["tasks"][0]["instance"] == automation.id
    )

    second = await sync(DecidersApproval)()
    pushed = await communicator.receive_json_from(timeout=5)
    assert {task["instance"] for task in pushed["tasks"]} == {automation.id, second.id}
    await communicator.disconnect()


async def test_a_token_in_the_first_message_logs_a_browser_in():
    _, key = await user_with_token("mia", groups=["Deciders"])
    await sync(DecidersApproval)()
    communicator = await logged_in_by_message(TASKS, key)
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "tasks" and first["count"] == 1
    await communicator.send_json_to({"type": "refresh"})  # after the login, messages are the socket's
    assert (await communicator.receive_json_from(timeout=5))["count"] == 1
    await communicator.disconnect()


async def test_a_wrong_token_is_refused_in_the_header_and_in_the_message():
    await user_with_token("mia", groups=["Deciders"])
    communicator = with_header(TASKS, "0" * 40)
    assert await communicator.connect() == (False, CLOSE_UNAUTHENTICATED)

    communicator = await logged_in_by_message(TASKS, "0" * 40)
    assert await communicator.receive_output(timeout=5) == CLOSED


@pytest.mark.parametrize("header", [b"Token", b"Token  ", b"Token two words"])
async def test_a_token_header_without_one_key_is_refused(header):
    communicator = WebsocketCommunicator(application(), TASKS, headers=[(b"authorization", header)])
    assert await communicator.connect() == (False, CLOSE_UNAUTHENTICATED)


@pytest.mark.parametrize("header", [b"Bearer abc", b"Basic bWlhOnB3"])
async def test_a_header_of_another_scheme_counts_as_none(header):
    _, key = await user_with_token("mia", groups=["Deciders"])
    communicator = WebsocketCommunicator(application(), TASKS, headers=[(b"authorization", header)])
    assert (await communicator.connect())[0]
    assert await communicator.receive_nothing()  # waiting for the token message, as without a header
    await communicator.send_json_to({"type": "authenticate", "token": key})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "tasks"
    await communicator.disconnect()


async def test_a_socket_without_a_session_or_token_closes_when_no_token_comes_in_time(monkeypatch):
    with frozen_clock() as clock:
        monkeypatch.setattr(TaskListConsumer, "call_later", staticmethod(clock.call_later))
        communicator = WebsocketCommunicator(application(), TASKS)
        assert (await communicator.connect())[0]
        await clock.aadvance(seconds=socket_auth.AUTHENTICATE_WITHIN - 1)
        assert await communicator.receive_nothing()
        await clock.aadvance(seconds=1)
        assert await communicator.receive_output(timeout=5) == CLOSED


async def test_another_first_message_closes_the_socket():
    _, key = await user_with_token("mia", groups=["Deciders"])
    communicator = WebsocketCommunicator(application(), TASKS)
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"type": "refresh", "token": key})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_a_token_in_the_query_string_is_not_read():
    _, key = await user_with_token("mia", groups=["Deciders"])
    communicator = WebsocketCommunicator(application(), f"{TASKS}&token={key}")
    assert (await communicator.connect())[0]
    assert await communicator.receive_nothing()  # still waiting for the token message
    await communicator.disconnect()


async def test_a_deleted_token_closes_its_socket_at_the_next_list():
    _, key = await user_with_token("mia", groups=["Deciders"])
    communicator = with_header(TASKS, key)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=5)
    await sync(Token.objects.filter(key=key).delete)()
    await sync(DecidersApproval)()  # a push, not only a refresh, checks the token
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_an_inactive_user_is_refused_and_a_deactivated_one_closed():
    user, key = await user_with_token("mia", groups=["Deciders"])
    ida, idas_key = await user_with_token("ida")
    await sync(User.objects.filter(pk=ida.pk).update)(is_active=False)
    assert await with_header(TASKS, idas_key).connect() == (False, CLOSE_UNAUTHENTICATED)
    communicator = await logged_in_by_message(TASKS, idas_key)
    assert await communicator.receive_output(timeout=5) == CLOSED

    communicator = await logged_in_by_message(TASKS, key)
    await communicator.receive_json_from(timeout=5)
    await sync(User.objects.filter(pk=user.pk).update)(is_active=False)
    await communicator.send_json_to({"type": "refresh"})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_a_token_sees_only_its_users_tasks():
    _, pats_key = await user_with_token("pat")
    _, mias_key = await user_with_token("mia", groups=["Deciders"])
    await sync(DecidersApproval)()
    pats, mias = with_header(TASKS, pats_key), await logged_in_by_message(TASKS, mias_key)
    assert (await pats.connect())[0]
    assert (await pats.receive_json_from(timeout=5))["count"] == 0
    assert (await mias.receive_json_from(timeout=5))["count"] == 1
    await sync(DecidersApproval)()
    assert (await mias.receive_json_from(timeout=5))["count"] == 2
    assert await pats.receive_nothing()  # a task of the Deciders concerns nobody else
    await pats.disconnect()
    await mias.disconnect()


async def test_the_instance_socket_takes_a_token_with_the_view_permission():
    _, stans_key = await user_with_token("stan", staff=True, permissions=INSTANCE_PERMISSIONS)
    _, pats_key = await user_with_token("pat")
    await sync(make_user)("mia", groups=["Deciders"])
    automation = await sync(DecidersApproval)()
    path = f"/ws/automations/instances/{automation.id}/?format=json"

    communicator = with_header(path, stans_key)
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "instance" and first["instance"]["status"] == "waiting_for_person"
    await communicator.disconnect()

    assert await with_header(path, pats_key).connect() == (False, CLOSE_FORBIDDEN)
    communicator = await logged_in_by_message(path, pats_key)
    assert await communicator.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_FORBIDDEN,
    }

    communicator = await logged_in_by_message(path, stans_key)
    assert (await communicator.receive_json_from(timeout=5))["automation"] == automation.id
    await sync(Token.objects.filter(key=stans_key).delete)()
    await sync(AutomationModel.objects.filter(pk=automation.id).update)(data={"moved": True})
    await communicator.send_json_to({"type": "refresh"})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_the_console_socket_takes_a_token_with_the_view_permission():
    _, stans_key = await user_with_token("stan", staff=True, permissions=INSTANCE_PERMISSIONS)
    _, pats_key = await user_with_token("pat")
    await sync(make_user)("mia", groups=["Deciders"])
    assert await with_header(CONSOLE, pats_key).connect() == (False, CLOSE_FORBIDDEN)
    refused = await logged_in_by_message(CONSOLE, pats_key)
    assert await refused.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}

    by_message = await logged_in_by_message(CONSOLE, stans_key)
    assert await by_message.receive_json_from(timeout=5) == {"type": "changed"}  # it listens: fetch now
    by_header = with_header(CONSOLE, stans_key)
    assert (await by_header.connect())[0]  # logged in and listening once connected
    assert await by_header.receive_nothing()
    await sync(DecidersApproval)()  # an instance moved: the lists changed
    assert await by_header.receive_json_from(timeout=5) == {"type": "changed"}
    assert await by_message.receive_json_from(timeout=THROTTLE + 5) == {"type": "changed"}
    await by_header.disconnect()

    await sync(Token.objects.filter(key=stans_key).delete)()
    await sync(DecidersApproval)()
    assert await by_message.receive_output(timeout=THROTTLE + 5) == CLOSED


async def test_the_diagram_socket_takes_no_token():
    _, key = await user_with_token("stan", staff=True, permissions=INSTANCE_PERMISSIONS)
    await sync(make_user)("mia", groups=["Deciders"])
    automation = await sync(DecidersApproval)()
    communicator = with_header(f"/ws/automations/diagram/{automation.id}/", key)
    assert await communicator.connect() == (False, CLOSE_UNAUTHENTICATED)


def test_without_the_token_app_no_token_logs_in(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "rest_framework.authtoken"]
    assert not socket_auth.tokens_in_use()
    assert socket_auth.token_user_id("0" * 40) is None


async def test_without_the_token_app_a_socket_without_a_session_is_refused(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "rest_framework.authtoken"]
    assert await WebsocketCommunicator(application(), TASKS).connect() == (False, CLOSE_UNAUTHENTICATED)


async def test_the_site_lets_in_a_token_client_without_an_origin_and_without_its_cookies():
    from django.test import Client

    from routing import build_application

    site = build_application()
    mia, key = await user_with_token("mia", groups=["Deciders"])
    await sync(DecidersApproval)()

    @sync
    def session_cookie():
        client = Client()
        client.force_login(mia)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    async def handshake(*headers):
        communicator = WebsocketCommunicator(site, TASKS, headers=list(headers))
        accepted, code = await communicator.connect()
        if not accepted:
            return ("refused", code)
        message = await communicator.receive_output(timeout=5)
        await communicator.disconnect()
        return ("closed", message["code"]) if message["type"] == "websocket.close" else ("tasks", message)

    token, cookie = (b"authorization", f"Token {key}".encode()), (b"cookie", await session_cookie())
    outcome, message = await handshake(token)  # a script or an app: no Origin header
    assert outcome == "tasks" and '"count": 1' in message["text"]
    assert await handshake(token, (b"origin", b"http://evil.example")) == ("refused", 1000)  # a browser
    assert await handshake(cookie) == ("refused", 1000)  # no Origin, no token: Channels' check
    wrong = (b"authorization", b"Token " + b"0" * 40)
    assert await handshake(wrong, cookie) == ("refused", CLOSE_UNAUTHENTICATED)  # the cookie is not read
    outcome, _ = await handshake(cookie, (b"origin", b"http://testserver"))  # a page of the site
    assert outcome == "tasks"
