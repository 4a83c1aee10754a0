"""The instance page's socket (its parts with the diagram) and the console's socket (throttled hints)."""

import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

import consumers
from automations import instance_actions
from automations.diagram.live import CONSOLE_GROUP, notify_instance
from automations.models import AutomationModel
from consumers.console import THROTTLE
from consumers.diagram import CLOSE_FORBIDDEN
from tests.approvals.automations import ExpenseApproval
from tests.people.flows import make_user

VIEW = ["automations.view_automationmodel"]
CHANGE = [*VIEW, "automations.change_automationmodel"]
sync = database_sync_to_async


def as_user(user):
    router = URLRouter(consumers.websocket_urlpatterns)

    async def application(scope, receive, send):
        return await router({**scope, "user": user}, receive, send)

    return application


@pytest.fixture
async def empty_channel_layer():
    await get_channel_layer().flush()
    yield
    await get_channel_layer().flush()


@pytest.mark.django_db(transaction=True)
async def test_the_instance_page_socket_sends_every_part_with_the_diagram(empty_channel_layer):
    await sync(make_user)("ada")
    vic = await sync(make_user)("vic", permissions=CHANGE)
    boss = await sync(make_user)("root", superuser=True)
    automation = await sync(ExpenseApproval)(requester="ada", approver="root")
    communicator = WebsocketCommunicator(as_user(vic), f"/ws/automations/instances/{automation.id}/")
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "diagram" and first["state"] == "waiting_for_person"
    assert set(first["page"]) == {"title", "facts", "actions", "positions", "data", "errors", "history"}
    assert "waiting for a person" in first["page"]["title"]
    assert f"/automations/instances/{automation.id}/cancel/" in first["page"]["actions"]

    model = await sync(AutomationModel.objects.get)(pk=automation.id)
    await sync(instance_actions.perform)(model, "cancel", boss, reason="Booked twice.")
    moved = await communicator.receive_json_from(timeout=5)
    assert moved["state"] == "cancelled" and moved["status"] == "Cancelled at enter."
    assert "cancelled" in moved["page"]["title"] and "/cancel/" not in moved["page"]["actions"]
    assert "Cancelled by root: Booked twice." in moved["page"]["history"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_instance_page_socket_shows_actions_only_to_those_who_may_act(empty_channel_layer):
    await sync(make_user)("ada")
    viewer = await sync(make_user)("val", permissions=VIEW)
    automation = await sync(ExpenseApproval)(requester="ada", approver="root")
    communicator = WebsocketCommunicator(as_user(viewer), f"/ws/automations/instances/{automation.id}/")
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert "/cancel/" not in first["page"]["actions"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_sends_a_burst_of_changes_as_two_messages(empty_channel_layer):
    vic = await sync(make_user)("vic", permissions=VIEW)
    communicator = WebsocketCommunicator(as_user(vic), "/ws/automations/console/")
    assert (await communicator.connect())[0]
    began = time.monotonic()
    for automation_id in range(1, 1001):  # a thousand steps of a thousand instances, at once
        await sync(notify_instance)(automation_id)
    assert await communicator.receive_json_from(timeout=5) == {"type": "changed"}  # the first at once
    assert await communicator.receive_json_from(timeout=THROTTLE + 5) == {"type": "changed"}
    assert time.monotonic() - began >= THROTTLE  # the rest together, after the interval
    assert await communicator.receive_nothing(timeout=THROTTLE + 0.2)
    await get_channel_layer().group_send(CONSOLE_GROUP, {"type": "instance.moved"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "changed"}  # quiet: at once
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_refuses_users_without_the_view_permission(empty_channel_layer):
    nobody = await sync(make_user)("nobody")
    communicator = WebsocketCommunicator(as_user(nobody), "/ws/automations/console/")
    connected, code = await communicator.connect()
    assert not connected and code == CLOSE_FORBIDDEN
