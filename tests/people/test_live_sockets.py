"""The instance page's socket (its parts with the diagram) and the console's socket (throttled hints)."""

import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from automations import instance_actions
from automations.diagram.live import CONSOLE_GROUP, notify_instance
from automations.models import AutomationModel
from consumers.console import THROTTLE
from consumers.diagram import CLOSE_FORBIDDEN
from tests.approvals.automations import ExpenseApproval
from tests.people.flows import make_user
from tests.people.test_diagram_views import as_user, empty_channel_layer  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("empty_channel_layer")
VIEW = ["automations.view_automationmodel"]
CHANGE = [*VIEW, "automations.change_automationmodel"]
sync = database_sync_to_async


@pytest.mark.django_db(transaction=True)
async def test_the_instance_page_socket_sends_every_part_with_the_diagram():
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
async def test_the_instance_page_socket_shows_actions_only_to_those_who_may_act():
    await sync(make_user)("ada")
    viewer = await sync(make_user)("val", permissions=VIEW)
    automation = await sync(ExpenseApproval)(requester="ada", approver="root")
    communicator = WebsocketCommunicator(as_user(viewer), f"/ws/automations/instances/{automation.id}/")
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert "/cancel/" not in first["page"]["actions"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_sends_a_burst_of_changes_as_a_few_messages():
    vic = await sync(make_user)("vic", permissions=VIEW)
    communicator = WebsocketCommunicator(as_user(vic), "/ws/automations/console/")
    assert (await communicator.connect())[0]

    @sync
    def a_thousand_steps():
        for automation_id in range(1, 1001):
            notify_instance(automation_id)

    began = time.monotonic()
    await a_thousand_steps()
    sending = time.monotonic() - began
    assert await communicator.receive_json_from(timeout=5) == {"type": "changed"}  # the first at once
    messages = 1
    while not await communicator.receive_nothing(timeout=THROTTLE + 0.3):
        assert await communicator.receive_json_from() == {"type": "changed"}
        messages += 1
    # One at once, then at most one per interval while the burst lasted, and the rest together
    # (over the network the hints that wait for the publishing thread arrive as one already).
    assert 1 <= messages <= sending / THROTTLE + 2, (messages, sending)
    await get_channel_layer().group_send(CONSOLE_GROUP, {"type": "instance.moved"})
    assert await communicator.receive_json_from(timeout=THROTTLE + 5) == {"type": "changed"}
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_console_socket_refuses_users_without_the_view_permission():
    nobody = await sync(make_user)("nobody")
    communicator = WebsocketCommunicator(as_user(nobody), "/ws/automations/console/")
    connected, code = await communicator.connect()
    assert not connected and code == CLOSE_FORBIDDEN
