"""A real ``automation_worker`` killed between two attempts: the next one goes on, losing and repeating none.

Needs ``DATABASE_URL`` to point to PostgreSQL and ``REDIS_URL`` to Redis; skips otherwise, and fails
instead when ``ATM_REQUIRE_SERVICES=1``.
"""

import time

import pytest

from automations import events
from automations.flow.retrying import pending_retry
from automations.models import AutomationModel, AutomationTaskModel
from tests.testapp.automations import RetriedEffect
from tests.testapp.models import NodeEffect
from tests.worker_processes import require_postgres_and_redis, workers_on_own_channel

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(settings, tmp_path):
    require_postgres_and_redis()
    with workers_on_own_channel(settings, tmp_path, "retries") as running:
        yield running


def wait_for(predicate, workers, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        workers.assert_running()
        assert time.monotonic() < deadline, f"not true after {timeout} s\n{workers.logs()}"
        time.sleep(0.02)


def test_a_worker_killed_between_attempts_loses_none_and_repeats_none(workers, tmp_path, monkeypatch):
    attempts_file = tmp_path / "attempts.txt"
    attempts_file.touch()
    monkeypatch.setenv("ATM_TEST_ATTEMPTS_FILE", str(attempts_file))  # the workers inherit it
    workers.start(0)
    workers.wait_until_listening()
    instance = RetriedEffect(autorun=False)
    events.publish(events.wake_event(instance.id))

    def attempt_two_waits():
        task = AutomationTaskModel.objects.filter(automation_id=instance.id, status="call").first()
        return task is not None and pending_retry(task) is not None

    wait_for(attempt_two_waits, workers)
    first_pid = workers.processes[0].pid
    workers.kill(0)  # between attempts 1 and 2: all it knew is in the database
    workers.start(1)
    wait_for(lambda: AutomationModel.objects.get(pk=instance.id).finished, workers)

    lines = [line.split() for line in attempts_file.read_text().splitlines()]
    second_pid = workers.processes[1].pid
    assert lines == [["1", str(first_pid)], ["2", str(second_pid)], ["3", str(second_pid)]]
    assert list(NodeEffect.objects.filter(automation_id=instance.id).values_list("node", flat=True)) == [
        "paid at attempt 3"
    ]
    task = AutomationTaskModel.objects.get(automation_id=instance.id, status="call")
    assert task.message == "OK, attempt 3 of 3"
