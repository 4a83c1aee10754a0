"""Durable delivery with real ``automation_worker`` processes: worker kills and a Redis restart lose nothing.

Needs PostgreSQL (``DATABASE_URL``) and Redis (``REDIS_URL``); the Redis restart happens on a
``redis-server`` of the test's own, so that the shared one is never disturbed.
"""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
from django.test import override_settings

from automations import events
from automations.models import InboxEvent
from tests.people.live_server import stop
from tests.test_scale_out import (
    CLASS_PATH,
    EFFECTS,
    Workers,
    assert_every_effect_exactly_once,
    instances,
    services,  # noqa: F401 -- skips or fails without PostgreSQL and Redis
    wait_until_finished,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def start_event(n):
    return {"type": events.START, "automation_class": CLASS_PATH, "id": f"durable-start-{n}",
            "data": {"note": "given", "n": f"durable-{n}"}}  # fmt: skip


def test_events_stored_by_a_killed_worker_are_applied_by_another(settings, tmp_path):
    channel = settings.ATM_CHANNEL_NAME = f"automations.test-durable.{os.getpid()}.a"
    receiving = Workers(channel, tmp_path)
    elsewhere = Workers(f"{channel}.elsewhere", tmp_path)  # alive, but never receives these events
    try:
        receiving.start(0)
        elsewhere.start(0)
        receiving.wait_until_listening()
        elsewhere.wait_until_listening()  # up and beating
        for n in range(300):
            events.publish(start_event(n))
        deadline = time.monotonic() + 30
        while not InboxEvent.objects.filter(handled__isnull=True).exists():
            assert time.monotonic() < deadline, "the worker never had stored events pending"
            time.sleep(0.005)
        receiving.kill(0)
        stored = InboxEvent.objects.count()
        pending = InboxEvent.objects.filter(handled__isnull=True).count()
        assert pending > 0
        deadline = time.monotonic() + 15
        while InboxEvent.objects.filter(handled__isnull=True).exists():
            assert time.monotonic() < deadline, f"{pending} stored events not taken over\n{elsewhere.logs()}"
            time.sleep(0.1)
        # Every event the killed worker stored is applied once, and the instances it was running
        # (their timers only in its memory) finish. Events it had received but not yet stored are
        # lost with it: their publisher did not ask for a receipt (see the next test).
        wait_until_finished(elsewhere, stored)
        assert_every_effect_exactly_once(stored)
        assert InboxEvent.objects.filter(outcome=InboxEvent.APPLIED).count() == stored
    finally:
        receiving.stop()
        elsewhere.stop()


@pytest.fixture
def own_redis():
    """A ``redis-server`` of the test's own, without persistence; ``restart()`` loses its contents."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]

    class Redis:
        url = f"redis://127.0.0.1:{port}/0"

        def start(self):
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    return
                except OSError:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)

        def restart(self, down_for=2.0):
            self.process.kill()
            self.process.wait()
            time.sleep(down_for)
            self.start()

    redis = Redis()
    redis.start()
    try:
        yield redis
    finally:
        stop(redis.process)


def test_confirmed_publishing_through_worker_kills_and_a_redis_restart_delivers_everything_once(
    settings, tmp_path, own_redis, monkeypatch
):
    channel = settings.ATM_CHANNEL_NAME = f"automations.test-durable.{os.getpid()}.b"
    hosts = [{"address": own_redis.url, "socket_timeout": None}]
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": hosts}}}
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    workers = Workers(channel, tmp_path)
    total, unconfirmed, published = 240, [], []
    with override_settings(CHANNEL_LAYERS=layers):
        try:
            for index in range(3):
                workers.start(index)
            workers.wait_until_listening()

            def publish_all():
                for n in range(total):
                    try:
                        events.publish(start_event(n), confirm=True, timeout=60)
                        published.append(n)
                    except Exception as exc:  # noqa: BLE001 -- counted, the test fails on it
                        unconfirmed.append((n, repr(exc)))

            publisher = threading.Thread(target=publish_all)
            publisher.start()
            for round_ in range(6):  # a worker killed every 1.5 s, and Redis restarted once
                time.sleep(1.5)
                if round_ == 2:
                    own_redis.restart()
                victim = round_ % 3
                workers.kill(victim)
                workers.start(victim)
            publisher.join(120)
            assert not publisher.is_alive(), "publishing did not end"
            assert not unconfirmed, unconfirmed[:5]
            wait_until_finished(workers, total)
            assert_every_effect_exactly_once(total)
            assert instances().count() == total and len(published) == total
            assert InboxEvent.objects.filter(outcome=InboxEvent.APPLIED).count() == total
        finally:
            workers.stop()
    assert EFFECTS > 0
