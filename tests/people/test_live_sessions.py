"""A live task-list socket lives as long as its session, as an attacker would try it.

Sockets go through the site's own routing (origin check, session cookie, auth middleware); the
session is made and ended by Django's test client, as a browser's logout would end it.
"""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from automations.tasklist.live import notify_users
from consumers.task_list import CLOSE_UNAUTHENTICATED, TASKS_PATH
from consumers.unknown import CLOSE_UNKNOWN_PATH
from routing import build_application
from tests.people.flows import ForAda, make_user, open_task

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/" + TASKS_PATH
CLOSED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
sync = database_sync_to_async


@pytest.fixture(autouse=True)
async def empty_channel_layer():
    await get_channel_layer().flush()
    yield
    await get_channel_layer().flush()


@sync
def logged_in(username):
    """Return ``(user, client)``: a user and a test client logged in as them."""
    user = make_user(username)
    client = Client()
    client.force_login(user)
    return user, client


async def socket_of(client, path=PATH):
    cookie = client.cookies["sessionid"].value
    headers = [(b"origin", b"http://testserver"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(build_application(), path, headers=headers)
    return communicator, await communicator.connect()


async def open_socket(client):
    communicator, (accepted, _) = await socket_of(client)
    assert accepted
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "tasks"
    return communicator


async def test_logging_out_closes_the_socket_of_the_session():
    ada, client = await logged_in("ada")
    await sync(lambda: open_task(ForAda()))()
    communicator = await open_socket(client)
    response = await sync(client.post)("/accounts/logout/")  # the site's logout, as the browser sends it
    assert response.status_code == 302
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_logging_out_in_code_closes_the_socket_too():
    ada, client = await logged_in("ada")
    communicator = await open_socket(client)
    await sync(client.logout)()
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_a_refresh_after_the_session_ended_closes_the_socket():
    ada, client = await logged_in("ada")
    communicator = await open_socket(client)
    key = client.cookies["sessionid"].value
    await sync(lambda: Session.objects.filter(session_key=key).delete())()  # expired, cleared: no signal
    await communicator.send_json_to({"type": "refresh"})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_a_push_after_the_session_ended_closes_the_socket_instead_of_sending_tasks():
    ada, client = await logged_in("ada")
    communicator = await open_socket(client)
    key = client.cookies["sessionid"].value
    await sync(lambda: Session.objects.filter(session_key=key).delete())()
    await sync(lambda: open_task(ForAda()))()  # a new task for ada is pushed to her sockets
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_a_session_that_changed_user_closes_the_socket():
    ada, client = await logged_in("ada")
    communicator = await open_socket(client)
    key = client.cookies["sessionid"].value

    @sync
    def become_bob():
        from django.contrib.sessions.backends.db import SessionStore

        bob = make_user("bob")
        session = SessionStore(key)
        session["_auth_user_id"] = str(bob.pk)
        session["_auth_user_hash"] = bob.get_session_auth_hash()
        session.save()

    await become_bob()
    await sync(notify_users)([ada.pk])
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_changing_the_password_ends_the_other_sessions_and_their_sockets():
    ada, client = await logged_in("ada")
    communicator = await open_socket(client)

    @sync
    def change_password():
        ada.set_password("a new one")
        ada.save()

    await change_password()
    await communicator.send_json_to({"type": "refresh"})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_a_live_session_keeps_its_socket():
    ada, client = await logged_in("ada")
    communicator = await open_socket(client)
    await communicator.send_json_to({"type": "refresh"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "tasks"
    other_ada_client = await sync(Client)()
    await sync(other_ada_client.force_login)(ada)
    await sync(other_ada_client.logout)()  # another session of the same user ends
    assert (await communicator.receive_json_from(timeout=5))["type"] == "tasks"
    await communicator.disconnect()


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/", "/ws/automations/tasks/extra/", "/%C2%B2"])
async def test_an_unknown_websocket_path_is_refused_cleanly(path):
    ada, client = await logged_in("ada")
    communicator, (accepted, code) = await socket_of(client, path)
    assert not accepted
    assert code == CLOSE_UNKNOWN_PATH
