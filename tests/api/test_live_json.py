"""The websockets' JSON messages for API clients (``?format=json``): the API's own objects, no HTML."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from automations import instance_actions
from automations.api.serializers import InstanceDetailSerializer, TaskSerializer
from automations.models import AutomationModel
from tests.api.flows import INSTANCE_PERMISSIONS, DecidersApproval
from tests.people.flows import make_user
from tests.people.test_diagram_views import as_user, empty_channel_layer  # noqa: F401 - a fixture

pytestmark = [pytest.mark.usefixtures("empty_channel_layer"), pytest.mark.django_db(transaction=True)]
sync = database_sync_to_async


async def test_the_task_list_socket_sends_the_apis_tasks_as_json():
    mia = await sync(make_user)("mia", groups=["Deciders"])
    automation = await sync(DecidersApproval)()
    communicator = WebsocketCommunicator(as_user(mia), "/ws/automations/tasks/?format=json")
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "tasks" and first["format"] == "json" and "html" not in first
    assert first["count"] == 1
    task = first["tasks"][0]
    assert task["instance"] == automation.id and task["section"] == "queue" and task["node"] == "ask"
    assert set(task) == set(TaskSerializer().fields)  # the API's task, field for field

    second = await sync(DecidersApproval)()
    pushed = await communicator.receive_json_from(timeout=5)
    assert pushed["count"] == 2 and {t["instance"] for t in pushed["tasks"]} == {automation.id, second.id}
    await communicator.disconnect()


async def test_a_socket_switches_to_json_when_asked():
    mia = await sync(make_user)("mia", groups=["Deciders"])
    await sync(DecidersApproval)()
    communicator = WebsocketCommunicator(as_user(mia), "/ws/automations/tasks/")
    assert (await communicator.connect())[0]
    assert "html" in await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to({"type": "format", "format": "json"})
    switched = await communicator.receive_json_from(timeout=5)
    assert switched["format"] == "json" and "html" not in switched and switched["count"] == 1
    await communicator.disconnect()


async def test_the_instance_socket_sends_the_apis_instance_as_json():
    stan = await sync(make_user)("stan", staff=True, permissions=INSTANCE_PERMISSIONS)
    root = await sync(make_user)("root", superuser=True)
    await sync(make_user)("mia", groups=["Deciders"])
    automation = await sync(DecidersApproval)()
    path = f"/ws/automations/instances/{automation.id}/?format=json"
    communicator = WebsocketCommunicator(as_user(stan), path)
    assert (await communicator.connect())[0]
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "instance" and first["automation"] == automation.id
    assert first["instance"]["status"] == "waiting_for_person" and "page" not in first
    assert set(first["instance"]) == set(InstanceDetailSerializer().fields)
    assert first["instance"]["actions"] == ["wake", "cancel", "message"]
    assert [position["node"] for position in first["instance"]["positions"]] == ["ask"]

    model = await sync(AutomationModel.objects.get)(pk=automation.id)
    await sync(instance_actions.perform)(model, "cancel", root, reason="Asked twice.")
    moved = await communicator.receive_json_from(timeout=5)
    assert moved["instance"]["status"] == "cancelled" and moved["instance"]["cancel_reason"] == "Asked twice."
    assert moved["instance"]["history"][-1]["action"] == "cancel"
    await communicator.disconnect()


async def test_the_json_task_list_holds_only_the_users_tasks():
    pat = await sync(make_user)("pat")
    await sync(make_user)("mia", groups=["Deciders"])
    await sync(DecidersApproval)()
    communicator = WebsocketCommunicator(as_user(pat), "/ws/automations/tasks/?format=json")
    assert (await communicator.connect())[0]
    assert (await communicator.receive_json_from(timeout=5))["count"] == 0
    await communicator.disconnect()
