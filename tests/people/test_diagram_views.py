"""The flow diagram pages and the live instance-diagram socket: who may see them, and what they show."""

from xml.etree import ElementTree

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

import consumers
from automations import diagram, engine, flow
from automations.flow import this
from automations.models import AutomationModel
from consumers.diagram import CLOSE_FORBIDDEN, CLOSE_GONE
from consumers.task_list import CLOSE_UNAUTHENTICATED
from tests.people.flows import Exploding, ForAda, make_user, open_task

SVG = "{http://www.w3.org/2000/svg}"
VIEW = ["automations.view_automationmodel"]
CLASS_PATH = "tests.people.flows.ForAda"


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def class_url(path=CLASS_PATH):
    return reverse("automations:diagram", args=[path])


def instance_url(pk):
    return reverse("automations:instance_diagram", args=[pk])


def svg_of(response) -> ElementTree.Element:
    html = response.content.decode()
    return ElementTree.fromstring(html[html.index("<svg") : html.index("</svg>") + 6])


def nodes_of(root) -> dict:
    return {g.get("data-node"): g.get("class").split() for g in root.iter(SVG + "g") if g.get("data-node")}


# -- who may see them -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["class", "instance"])
def test_who_may_see_the_diagrams(url):
    make_user("ada")
    target = class_url() if url == "class" else instance_url(ForAda().id)
    anonymous = client_for(None).get(target)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(resolve_url(settings.LOGIN_URL) + "?next=")
    assert client_for(make_user("bob")).get(target).status_code == 403
    assert client_for(make_user("sam", staff=True)).get(target).status_code == 403
    inactive = make_user("ina", permissions=VIEW)
    inactive.is_active = False
    inactive.save()
    assert client_for(inactive).get(target).status_code == 302  # Django logs inactive users out
    assert client_for(make_user("vic", permissions=VIEW)).get(target).status_code == 200
    assert client_for(make_user("root", superuser=True)).get(target).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["tests.people.flows.Nope", "os.path", "automations.models.AutomationModel", "x" * 300]
)
def test_only_registered_automations_are_drawn(path):
    response = client_for(make_user("vic", permissions=VIEW)).get(class_url(path))
    assert response.status_code == 404
    assert "No such automation" in response.content.decode()
    assert "<svg" not in response.content.decode()


@pytest.mark.django_db
def test_unknown_instances_and_classes_answer_404_in_the_layout():
    client = client_for(make_user("vic", permissions=VIEW))
    assert client.get(instance_url(999_999)).status_code == 404
    orphan = AutomationModel.objects.create(automation_class="gone.automations.Old")
    response = client.get(instance_url(orphan.pk))
    assert response.status_code == 404 and "No such automation" in response.content.decode()
    assert client.get(class_url() + "?format=svg").status_code == 200
    assert client.get(class_url("gone.X") + "?format=dot").status_code == 404


# -- what the class diagram shows --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_class_diagram_numbers_the_instances_waiting_at_each_node():
    ada = make_user("ada")
    for _ in range(3):
        ForAda()
    done = ForAda()
    task = open_task(done)
    engine.advance(done.id, submission=engine.Submission(task_id=task.pk, result={}, user=ada))
    assert AutomationModel.objects.get(pk=done.id).finished
    response = client_for(make_user("vic", permissions=VIEW)).get(class_url())
    root = svg_of(response)
    counts = {
        g.get("data-node"): [c.get("data-count") for c in g.iter(SVG + "g") if c.get("data-count")]
        for g in root.iter(SVG + "g")
        if g.get("data-node")
    }
    assert counts == {"start": [], "ask": ["3"], "end": []}
    assert "3 instances wait at a node" in response.content.decode()


@pytest.mark.django_db
def test_instances_stopped_by_an_error_are_counted_apart():
    Exploding()
    Exploding()
    graph = diagram.build_graph(Exploding)
    state = diagram.class_state(graph)
    assert state.counts == {}  # the calm path's task at meet is open, but its instance stopped
    assert state.errors == {"explode": 2}  # counted where the error happened
    AutomationModel.objects.filter(pk=AutomationModel.objects.first().pk).update(error="", status="running")
    state = diagram.class_state(graph)
    assert (state.counts, state.errors) == ({"meet": 1}, {"explode": 1})
    response = client_for(make_user("vic", permissions=VIEW)).get(class_url("tests.people.flows.Exploding"))
    explode = next(g for g in svg_of(response).iter(SVG + "g") if g.get("data-node") == "explode")
    assert [g.get("data-count") for g in explode.iter(SVG + "g") if g.get("data-count")] == ["1"]
    assert "1 was stopped by an error (red)." in response.content.decode()


@pytest.mark.django_db
def test_the_class_diagram_downloads_in_every_format():
    client = client_for(make_user("vic", permissions=VIEW))
    for format, content_type, suffix in (
        ("svg", "image/svg+xml", "svg"),
        ("dot", "text/vnd.graphviz", "dot"),
        ("mermaid", "text/plain", "mmd"),
    ):
        response = client.get(class_url() + f"?format={format}")
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"] == f'attachment; filename="ForAda.{suffix}"'
    assert client.get(class_url() + "?format=mermaid").content.decode().startswith("flowchart TD")


# -- what the instance diagram shows -----------------------------------------------------------------


class Detour(flow.Automation):
    check = flow.If(this.is_big).Then(this.big).Else(this.small)
    big = flow.Execute().Next(this.wait)
    small = flow.Execute().Next(this.wait)
    wait = flow.Execute().AsSoonAs(this.is_ready)
    end = flow.End()

    def is_big(self, task):
        return self.data.get("big", False)

    def is_ready(self, task):
        return self.data.get("ready", False)


@pytest.mark.django_db
def test_the_instance_diagram_shows_the_path_taken_and_where_it_stands():
    automation = Detour(big=True)
    client = client_for(make_user("vic", permissions=VIEW))
    response = client.get(instance_url(automation.id))
    root = svg_of(response)
    nodes = nodes_of(root)
    assert "atm-instance" in root.get("class")
    assert "atm-current" in nodes["wait"]
    assert "atm-visited" in nodes["check"] and "atm-visited" in nodes["big"]
    assert not {"atm-visited", "atm-current"} & set(nodes["small"])
    taken = {(g.get("data-source"), g.get("data-target")) for g in root.iter(SVG + "g")
             if "atm-taken" in (g.get("class") or "").split()}  # fmt: skip
    assert taken == {("check", "big"), ("big", "wait")}
    html = response.content.decode()
    assert f'data-atm-diagram-socket="/ws/automations/diagram/{automation.id}/"' in html
    assert "Waiting for a message at wait." in html


@pytest.mark.django_db
def test_a_failed_instance_is_marked_where_it_failed():
    class Failing(flow.Automation):
        first = flow.Execute()
        boom = flow.Execute(this.explode)
        end = flow.End()

        def explode(self, task):
            raise RuntimeError("boom")

    model = AutomationModel.objects.get(pk=Failing().id)
    state = diagram.instance_state(diagram.build_graph(Failing), model)
    assert (state.failed, state.current, state.visited) == ({"boom"}, set(), {"first", "boom"})
    assert diagram.state.instance_status(model, state) == "Stopped by an error at boom."


@pytest.mark.django_db
def test_parallel_paths_are_followed_through_split_and_join():
    class Fork(flow.Automation):
        fork = flow.Split().Next(this.left).Next(this.right)
        left = flow.Execute().Next(this.meet)
        right = flow.Execute().AsSoonAs(this.go).Next(this.meet)
        meet = flow.Join()
        end = flow.End()

        def go(self, task):
            return self.data.get("go", False)

    automation = Fork()
    graph = diagram.build_graph(Fork)
    state = diagram.instance_state(graph, AutomationModel.objects.get(pk=automation.id))
    assert state.current == {"right", "meet"} and state.visited == {"fork", "left"}
    assert state.taken == {("fork", "left", "split"), ("fork", "right", "split"), ("left", "meet", "next")}
    automation.data["go"] = True
    automation.save()
    automation.run()
    model = AutomationModel.objects.get(pk=automation.id)
    state = diagram.instance_state(graph, model)
    assert model.finished and state.current == set()
    assert state.taken == {
        ("fork", "left", "split"),
        ("fork", "right", "split"),
        ("left", "meet", "next"),
        ("right", "meet", "next"),
        ("meet", "end", "join"),
    }


# -- the live socket ---------------------------------------------------------------------------------


def as_user(user):
    router = URLRouter(consumers.websocket_urlpatterns)

    async def application(scope, receive, send):
        return await router({**scope, "user": user}, receive, send)

    return application


def socket_path(pk):
    return f"/ws/automations/diagram/{pk}/"


sync = database_sync_to_async


@pytest.fixture
async def empty_channel_layer():
    await get_channel_layer().flush()
    yield
    await get_channel_layer().flush()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_follows_the_instance_as_it_moves(empty_channel_layer):
    vic = await sync(make_user)("vic", permissions=VIEW)
    automation = await sync(Detour)(big=False)
    communicator = WebsocketCommunicator(as_user(vic), socket_path(automation.id))
    accepted, _ = await communicator.connect()
    assert accepted
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "diagram" and first["automation"] == automation.id
    assert (first["current"], first["visited"]) == (["wait"], ["check", "small"])
    assert first["taken"] == [["check", "small", "else"], ["small", "wait", "next"]]
    assert first["status"] == "Waiting for a message at wait." and first["finished"] is False

    @sync
    def get_ready():
        automation.data["ready"] = True
        automation.save()
        automation.run()

    await get_ready()
    moved = await communicator.receive_json_from(timeout=5)
    assert (moved["current"], moved["finished"], moved["status"]) == ([], True, "Finished.")
    assert moved["visited"] == ["check", "end", "small", "wait"]
    assert ["wait", "end", "next"] in moved["taken"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_step_that_only_rechecks_a_wait_sends_the_same_state(empty_channel_layer):
    vic = await sync(make_user)("vic", permissions=VIEW)
    automation = await sync(Detour)()
    communicator = WebsocketCommunicator(as_user(vic), socket_path(automation.id))
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=5)
    await sync(automation.run)()  # still not ready: the waiting path is visited again
    message = await communicator.receive_json_from(timeout=5)
    assert message["current"] == ["wait"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_socket_says_when_the_instance_is_deleted(empty_channel_layer):
    vic = await sync(make_user)("vic", permissions=VIEW)
    automation = await sync(Detour)()
    communicator = WebsocketCommunicator(as_user(vic), socket_path(automation.id))
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=5)
    pk = automation.id
    await sync(automation.kill)()
    assert await communicator.receive_json_from(timeout=5) == {"type": "gone", "automation": pk}
    assert (await communicator.receive_output(timeout=5))["code"] == CLOSE_GONE


@pytest.mark.django_db(transaction=True)
async def test_sockets_without_the_permission_are_refused(empty_channel_layer):
    automation = await sync(Detour)()
    bob = await sync(make_user)("bob")
    sam = await sync(make_user)("sam", staff=True)
    for user, code in (
        (AnonymousUser(), CLOSE_UNAUTHENTICATED),
        (bob, CLOSE_FORBIDDEN),
        (sam, CLOSE_FORBIDDEN),
    ):
        communicator = WebsocketCommunicator(as_user(user), socket_path(automation.id))
        accepted, closed_with = await communicator.connect()
        assert not accepted and closed_with == code, user
    vic = await sync(make_user)("vic", permissions=VIEW)
    communicator = WebsocketCommunicator(as_user(vic), socket_path(999_999))
    assert await communicator.connect() == (False, CLOSE_GONE)


@pytest.mark.django_db(transaction=True)
async def test_a_user_who_loses_the_permission_is_disconnected(empty_channel_layer):
    vic = await sync(make_user)("vic", permissions=VIEW)
    automation = await sync(Detour)()
    communicator = WebsocketCommunicator(as_user(vic), socket_path(automation.id))
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=5)
    await sync(vic.user_permissions.clear)()
    await sync(automation.run)()
    assert (await communicator.receive_output(timeout=5))["code"] == CLOSE_FORBIDDEN


@pytest.mark.django_db
def test_the_diagrams_speak_german_to_german_browsers():
    automation = Detour(big=True)
    client = Client(headers={"accept-language": "de"})
    client.force_login(make_user("vic", permissions=VIEW))
    html = client.get(instance_url(automation.id)).content.decode()
    assert "Ablauf der Instanz" in html and "Wartet auf eine Nachricht bei wait." in html
    assert "Entscheidung" in html and "sobald is_ready" in html and ">ja<" in html
    make_user("ada")
    ForAda()
    html = client.get(class_url()).content.decode()
    assert "1 Instanz wartet an einem Knoten" in html and "Formular für eine Person" in html


def test_hints_over_the_network_are_sent_by_the_publishing_thread(monkeypatch):
    import threading

    import channels.layers

    from automations.diagram.live import CONSOLE_GROUP, instance_group, notify_instance

    sent, arrived, callers = [], threading.Event(), set()

    class NetworkLayer:
        async def group_send(self, group, message):
            callers.add(threading.current_thread().name)
            sent.append((group, message))
            if len(sent) >= 3:
                arrived.set()

    monkeypatch.setattr(channels.layers, "get_channel_layer", lambda alias="default": NetworkLayer())
    monkeypatch.setattr(channels.layers.channel_layers, "make_backend", lambda alias: NetworkLayer())
    notify_instance(7)
    notify_instance(8)
    assert arrived.wait(timeout=10)
    moved = {"type": "instance.moved"}
    groups = [CONSOLE_GROUP, instance_group(7), instance_group(8)]
    assert sorted(set(group for group, _ in sent)) == groups  # the console's once: hints that wait coalesce
    assert all(message == moved for _, message in sent)
    assert callers == {"automations-publisher"}  # the process's publishing loop, not the caller


def test_hints_on_the_in_memory_layer_go_only_to_groups_someone_in_this_process_joined(monkeypatch):
    import channels.layers
    from asgiref.sync import async_to_sync
    from channels.layers import InMemoryChannelLayer

    from automations.diagram.live import instance_group, notify_instance

    layer, sent = InMemoryChannelLayer(), []
    group_send = layer.group_send

    async def noted(group, message):
        sent.append(group)
        await group_send(group, message)

    layer.group_send = noted
    monkeypatch.setattr(channels.layers, "get_channel_layer", lambda alias="default": layer)
    notify_instance(7)  # no socket watches instance 7: nothing is sent
    assert sent == []
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(instance_group(8), channel)
    notify_instance(8)
    assert sent == [instance_group(8)]
    assert async_to_sync(layer.receive)(channel) == {"type": "instance.moved"}
