"""Publishing from sync code keeps one Redis connection per process (``automations.publisher``).

Counted with Redis' ``CLIENT LIST``: the clients whose address is one of this process's sockets.
Needs ``REDIS_URL``; skips otherwise, and fails instead when ``ATM_REQUIRE_SERVICES=1``.
"""

import asyncio
import logging
import os
import signal
import socket
import threading
import time
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

import settings as site
from automations import events, publisher
from tests.testapp.automations import EffectChain

pytestmark = [pytest.mark.redis]

START = {"type": events.START, "automation_class": EffectChain.get_automation_class_name()}


@pytest.fixture
def redis_url(redis_url):
    """The suite's ``redis_url``, where this process's sockets can be counted through /proc."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counts this process's sockets through /proc")
    return redis_url


@pytest.fixture
def layer(settings, redis_url):
    """The Redis layer that the publishing loop sends with, on a channel of this test's own."""
    settings.CHANNEL_LAYERS = site.channel_layers_from_url(redis_url)
    settings.ATM_CHANNEL_NAME = f"automations.test-publisher.{uuid.uuid4().hex[:12]}"
    layer = publisher.channel_layer()
    assert layer is not get_channel_layer()  # its connections are never closed from another loop
    assert type(layer).__module__.startswith("channels_redis")
    return layer


@pytest.fixture
def admin(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def own_socket_addresses() -> set[str]:
    addresses = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except OSError:  # not a socket, or already closed
            continue
        with sock:
            try:
                address = sock.getsockname()
            except OSError:
                continue
        if isinstance(address, tuple):
            addresses.add(f"{address[0]}:{address[1]}")
    return addresses


def publisher_connections(admin) -> set[int]:
    """Redis client ids of this process's connections, but the counting client's own."""
    mine = admin.client_id()  # connects the counting client first, so that its socket is among ours
    own = own_socket_addresses()
    clients = admin.client_list()
    return {int(client["id"]) for client in clients if client["addr"] in own} - {mine}


class NewConnections:
    """This process's Redis connections opened since the last look (Redis numbers clients in order)."""

    def __init__(self, admin):
        self.admin = admin
        self.seen = max(publisher_connections(admin), default=0)

    def look(self) -> tuple[set[int], set[int]]:
        """Return the connections opened since the last look, and all of this process's."""
        now = publisher_connections(self.admin)
        opened = {client_id for client_id in now if client_id > self.seen}
        self.seen = max(now | {self.seen})
        return opened, now


def drain(layer, channel, count=None):
    """Receive ``count`` events from ``channel`` (or, without ``count``, those there are)."""

    async def receive_all():
        received = []
        while count is None or len(received) < count:
            try:
                received.append(await asyncio.wait_for(layer.receive(channel), 10 if count else 0.5))
            except TimeoutError:
                if count is not None:
                    raise
                break
        return received

    return publisher.run(receive_all)


def test_publishing_from_sync_code_keeps_one_connection(layer, admin):
    connections = NewConnections(admin)
    events.publish(events.wake_event(1))
    first, _ = connections.look()
    for automation_id in range(2, 102):
        events.publish(events.wake_event(automation_id))
    opened, open_now = connections.look()
    assert len(first) == 1 and first <= open_now  # the first publish's connection, still in use
    assert not opened
    received = drain(layer, events.channel_name(), 101)
    assert [event["automation"] for event in received] == list(range(1, 102))


@pytest.mark.django_db(transaction=True)
def test_starting_automations_with_a_worker_keeps_one_connection(layer, admin, settings):
    settings.ATM_WORKER = True
    connections = NewConnections(admin)
    events.publish(events.wake_event(1))
    first, _ = connections.look()
    started = [EffectChain(autorun=False) for _ in range(20)]
    for instance in started:
        instance.nice()  # handed to the worker: an automation.wake once committed
    opened, open_now = connections.look()
    assert len(first) == 1 and first <= open_now and not opened
    woken = {event["automation"] for event in drain(layer, events.channel_name())}
    assert {instance.id for instance in started} <= woken


def answer_one_event(layer, channel):
    """Receive one event on ``channel`` on a loop of its own and confirm it, as a worker would."""

    async def answer():
        event = await asyncio.wait_for(layer.receive(channel), 10)
        await layer.send(event["reply_channel"], events.receipt(event["id"]))

    thread = threading.Thread(target=lambda: asyncio.run(answer()))
    thread.start()
    return thread


def test_confirmed_publishing_from_sync_code(layer):
    worker = answer_one_event(layer, events.channel_name())
    event_id = events.publish({**START, "id": "start-1"}, confirm=True, timeout=10)
    worker.join(10)
    assert event_id == "start-1"


def test_confirmed_publishing_without_a_worker_times_out(layer):
    with pytest.raises(events.EventNotConfirmedError):
        events.publish(START, confirm=True, timeout=0.5)


def test_publishing_from_many_threads(layer, admin):
    def publish_some(offset):
        for number in range(20):
            events.publish(events.wake_event(offset + number))

    threads = [threading.Thread(target=publish_some, args=(1000 * index,)) for index in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    received = drain(layer, events.channel_name(), 120)
    assert sorted(event["automation"] for event in received) == sorted(
        1000 * index + number for index in range(1, 7) for number in range(20)
    )


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_publishes_on_a_connection_of_its_own(layer, admin):
    events.publish(events.wake_event(1))  # the parent's loop and connection exist before the fork
    connections = NewConnections(admin)
    parent = publisher_connections(admin)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: publish, report its new connections, leave without pytest's cleanup
        status = 1
        try:
            signal.alarm(20)  # a publish on the parent's loop, which has no thread here, would hang
            events.publish(events.wake_event(2))
            os.write(write_end, " ".join(map(str, publisher_connections(admin) - parent)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = {int(number) for number in pipe.read().split()}
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child
    assert [event["automation"] for event in drain(layer, events.channel_name(), 2)] == [1, 2]
    assert connections.look()[0] == set()


def test_async_code_awaits_instead(layer):
    async def from_async_code():
        with pytest.raises(RuntimeError, match="await"):
            publisher.run(layer.send, events.channel_name(), events.wake_event(1))

    async_to_sync(from_async_code)()


def test_wake_ups_are_handed_to_the_loop_and_arrive(layer):
    for automation_id in range(1, 51):
        events.publish_wake(automation_id)
    received = drain(layer, events.channel_name(), 50)
    assert sorted(event["automation"] for event in received) == list(range(1, 51))


def test_publish_wake_returns_before_the_layer_has_sent(layer, monkeypatch):
    sent, release = [], threading.Event()

    async def slow_send(channel, event):
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        sent.append(event)

    monkeypatch.setattr(layer, "send", slow_send)
    events.publish_wake(7)
    assert sent == []  # returned while the send still waits
    release.set()
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sent == [events.wake_event(7)]


def test_a_wake_up_the_layer_refuses_is_logged(layer, monkeypatch, caplog):
    async def full(channel, event):
        raise ChannelFull()

    monkeypatch.setattr(layer, "send", full)
    with caplog.at_level(logging.WARNING, logger="automations.events"):
        events.publish_wake(7)
        deadline = time.monotonic() + 10
        while "not published" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "Wake-up of automation instance 7 not published (ChannelFull())" in caplog.text


def _later(**delta):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(**delta)


def test_wake_ups_due_later_go_out_together_and_those_due_soon_at_once(layer):
    tomorrow = _later(days=1)
    for automation_id in range(1, 41):
        events.publish_wake(automation_id, tomorrow)
    events.publish_wake(99, _later(milliseconds=200))  # due soon: not held back for the others
    received = drain(layer, events.channel_name())
    assert (received[0]["type"], received[0]["automation"]) == (events.WAKE, 99)
    together = [events.validate(event) for event in received[1:]]
    assert 1 <= len(together) < 40 and {event.type for event in together} <= set(events.WAKE_TYPES)
    woken = [wake for event in together for wake in event.data or [(event.automation, event.at)]]
    assert sorted(automation_id for automation_id, _ in woken) == list(range(1, 41))
    assert {at for _, at in woken} == {tomorrow}


def test_gathered_wake_ups_the_layer_refuses_are_logged_each(layer, monkeypatch, caplog):
    async def full(channel, event):
        raise ChannelFull()

    monkeypatch.setattr(layer, "send", full)
    with caplog.at_level(logging.WARNING, logger="automations.events"):
        for automation_id in (5, 6):
            events.publish_wake(automation_id, _later(hours=1))
        deadline = time.monotonic() + 10
        while caplog.text.count("not published") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert "instance 5 not published (ChannelFull())" in caplog.text
    assert "instance 6 not published (ChannelFull())" in caplog.text


def test_flushing_the_shared_layer_leaves_the_publishing_connection_alone(layer):
    events.publish(events.wake_event(1))  # the publishing loop holds a connection now

    async def flush_from_another_loop():
        await get_channel_layer().flush()  # as a test or a worker does on its own loop

    async_to_sync(flush_from_another_loop)()  # empties the channels too
    events.publish(events.wake_event(2))
    assert [event["automation"] for event in drain(layer, events.channel_name())] == [2]
