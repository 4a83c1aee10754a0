"""The live task list websocket (``consumers.task_list``) with Channels' test communicator."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, User
from django.test import Client

import consumers
from automations import engine
from automations.models import AutomationTaskModel
from automations.tasklist.live import notify_users
from consumers.task_list import CLOSE_UNAUTHENTICATED, TASKS_PATH
from tests.people.flows import ForAda, ForReviewers, Unassigned, make_user, open_task

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/" + TASKS_PATH
CLOSED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


@pytest.fixture(autouse=True)
async def empty_channel_layer():
    """Start every test with an empty channel layer (the in-memory one lives as long as the process)."""
    await get_channel_layer().flush()
    yield
    await get_channel_layer().flush()


def as_user(user):
    """Return the websocket routes with ``user`` put into the scope, as the auth middleware would."""
    router = URLRouter(consumers.websocket_urlpatterns)

    async def application(scope, receive, send):
        return await router({**scope, "user": user}, receive, send)

    return application


async def connected(user):
    communicator = WebsocketCommunicator(as_user(user), PATH)
    accepted, _ = await communicator.connect()
    assert accepted
    return communicator


async def next_list(communicator) -> list[int]:
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "tasks"
    assert message["count"] == len(message["tasks"])
    return [task["id"] for task in message["tasks"]]


sync = database_sync_to_async


@sync
def user_named(username, **kwargs):
    return make_user(username, **kwargs)


@sync
def start(automation_class, **data):
    return automation_class(**data)


@sync
def first_open_task(automation):
    return open_task(automation)


@sync
def submit(task, user):
    submission = engine.Submission(task_id=task.pk, result={}, user=user)
    engine.advance(task.automation_id, submission=submission)
    return submission.consumed


async def test_anonymous_sockets_get_nothing_and_close_without_a_token():
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(as_user(AnonymousUser()), PATH)
    accepted, _ = await communicator.connect()
    assert accepted  # waiting for an API token's "authenticate" message (docs/api.md)
    assert await communicator.receive_nothing()
    await communicator.send_json_to({"type": "refresh"})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_on_connect_the_open_tasks_are_sent():
    ada = await user_named("ada")
    task = await first_open_task(await start(ForAda))
    communicator = await connected(ada)
    message = await communicator.receive_json_from(timeout=5)
    assert [entry["id"] for entry in message["tasks"]] == [task.pk]
    entry = message["tasks"][0]
    assert entry["url"] == f"/automations/tasks/{task.pk}/"
    assert entry["description"] == "Only for Ada" and entry["automation"] == "Automation ForAda"
    assert f'data-atm-task="{task.pk}"' in message["html"]
    await communicator.disconnect()


async def test_a_new_task_and_its_end_are_pushed():
    ada = await user_named("ada")
    communicator = await connected(ada)
    assert await next_list(communicator) == []
    automation = await start(ForAda)
    task = await first_open_task(automation)
    assert await next_list(communicator) == [task.pk]
    assert await submit(task, ada)
    assert await next_list(communicator) == []
    await communicator.disconnect()


async def test_a_user_is_never_sent_a_task_they_may_not_process():
    await user_named("ada")
    bob = await user_named("bob")
    communicator = await connected(bob)
    assert await next_list(communicator) == []
    await start(ForAda)
    assert await communicator.receive_nothing(timeout=0.3)
    await sync(notify_users)(everyone=True)
    assert await next_list(communicator) == []  # even when asked to refresh, Ada's task is not Bob's
    unassigned = await first_open_task(await start(Unassigned))
    assert await next_list(communicator) == [unassigned.pk]
    await communicator.disconnect()


async def test_a_reassigned_task_leaves_one_list_and_joins_the_other():
    ada = await user_named("ada")
    bob = await user_named("bob")
    task = await first_open_task(await start(ForAda))
    at_ada, at_bob = await connected(ada), await connected(bob)
    assert await next_list(at_ada) == [task.pk]
    assert await next_list(at_bob) == []

    @sync
    def reassign():
        row = AutomationTaskModel.objects.get(pk=task.pk)
        row.interaction_user = bob
        row.save()

    await reassign()
    assert await next_list(at_ada) == []
    assert await next_list(at_bob) == [task.pk]  # the row says who; the declaration says that someone must
    await at_ada.disconnect()
    await at_bob.disconnect()


async def test_leaving_the_group_removes_its_tasks():
    rita = await user_named("rita", groups=["Reviewers"])
    task = await first_open_task(await start(ForReviewers))
    communicator = await connected(rita)
    assert await next_list(communicator) == [task.pk]

    @sync
    def leave():
        User.objects.get(pk=rita.pk).groups.remove(Group.objects.get(name="Reviewers"))

    await leave()
    assert await next_list(communicator) == []
    await communicator.disconnect()


async def test_a_killed_instance_takes_its_task_away():
    ada = await user_named("ada")
    automation = await start(ForAda)
    communicator = await connected(ada)
    assert len(await next_list(communicator)) == 1
    await sync(automation.kill)()
    assert await next_list(communicator) == []
    await communicator.disconnect()


async def test_a_deactivated_user_is_disconnected():
    ada = await user_named("ada")
    communicator = await connected(ada)
    await next_list(communicator)

    @sync
    def deactivate():
        User.objects.filter(pk=ada.pk).update(is_active=False)
        notify_users([ada.pk])

    await deactivate()
    assert (await communicator.receive_output(timeout=5)) == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHENTICATED,
    }


async def test_the_site_routing_authenticates_with_the_session_and_checks_the_origin():
    from routing import build_application

    ada = await user_named("ada")
    task = await first_open_task(await start(ForAda))

    @sync
    def session_cookie():
        client = Client()
        client.force_login(ada)
        return client.cookies["sessionid"].value

    cookie = await session_cookie()
    application = build_application()
    same_site = [(b"origin", b"http://testserver"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, PATH, headers=same_site)
    accepted, _ = await communicator.connect()
    assert accepted
    assert await next_list(communicator) == [task.pk]
    await communicator.disconnect()

    cross_site = [(b"origin", b"http://evil.example"), (b"cookie", f"sessionid={cookie}".encode())]
    communicator = WebsocketCommunicator(application, PATH, headers=cross_site)
    accepted, _ = await communicator.connect()
    assert not accepted

    no_session = [(b"origin", b"http://testserver")]
    communicator = WebsocketCommunicator(application, PATH, headers=no_session)
    accepted, _ = await communicator.connect()
    assert accepted and await communicator.receive_nothing()  # waiting for an API token
    await communicator.send_json_to({"type": "refresh"})
    assert await communicator.receive_output(timeout=5) == CLOSED


async def test_the_list_is_rendered_in_the_language_of_the_page():
    ada = await user_named("ada")
    communicator = WebsocketCommunicator(
        as_user(ada), PATH, headers=[(b"accept-language", b"de-DE,de;q=0.9")]
    )
    assert (await communicator.connect())[0]
    message = await communicator.receive_json_from(timeout=5)
    assert "Sie haben keine offenen Aufgaben." in message["html"]
    await communicator.disconnect()


async def test_notifying_from_code_running_on_the_event_loop_sends_alongside():
    ada = await user_named("ada")
    communicator = await connected(ada)
    assert await next_list(communicator) == []
    notify_users([ada.pk])  # no await: called from async code, it must not block the loop
    assert await next_list(communicator) == []
    await communicator.disconnect()


async def test_a_client_may_ask_for_the_list_again():
    ada = await user_named("ada")
    communicator = await connected(ada)
    assert await next_list(communicator) == []
    await communicator.send_json_to({"type": "refresh"})
    assert await next_list(communicator) == []
    await communicator.send_json_to({"type": "something else"})
    await communicator.send_to(text_data="not json")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.send_json_to({"type": "refresh"})
    assert await next_list(communicator) == []  # still alive
    await communicator.disconnect()
