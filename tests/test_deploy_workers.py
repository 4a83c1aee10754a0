"""A deploy on PostgreSQL with 4 real ``automation_worker`` processes, restarted one by one.

``Journey`` v1 (``tests/deploy_flows.py``) has 100 instances waiting at every kind of node: for
time, for a form, for a message, inside a Split and at its Join. Four workers run v1 (their app
``tests.deploys`` declares ``Journey`` as ``ATM_TEST_RELEASE`` says). Then v2 with its mapping is
deployed as a rolling restart: the workers are replaced one at a time while the instances' timers
are due and forms and messages come in, so for a while old and new code step the same instances.
An old worker that meets a node only v2 knows holds the instance (``needs_migration``), a new
worker's sweep takes it up again. In the end every instance has finished, none failed, and every
effect happened once (``NodeEffect`` rows are unique per instance and effect: a node that ran
twice would fail its instance).

Time is real here (the workers are other processes): a wait is made to have passed by moving the
start of the open tasks back, one row at a time.

Needs ``DATABASE_URL`` to point to PostgreSQL and ``REDIS_URL`` to Redis; skips otherwise, and
fails instead when ``ATM_REQUIRE_SERVICES=1``.
"""

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from automations import registry, testing
from automations.models import AutomationModel, AutomationTaskModel, Status
from tests.deploy_flows import declare
from tests.testapp.models import NodeEffect
from tests.worker_processes import require_postgres_and_redis, workers_on_own_channel

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

CLASS_PATH = "tests.deploy_flows.Journey"
GROUP = 20
WORKERS = 4
DEADLINE = 60  # seconds for every instance to finish after the deploy; they need about 5


@pytest.fixture(autouse=True)
def services():
    require_postgres_and_redis()


@pytest.fixture
def workers(settings, tmp_path):
    deploys = "tests.settings_deploys"
    with workers_on_own_channel(settings, tmp_path, "deploy", settings_module=deploys) as running:
        yield running


@pytest.fixture
def person():
    return get_user_model().objects.create_user("pat", password="pw")


def instances():
    return AutomationModel.objects.filter(automation_class=CLASS_PATH)


def let_time_pass(ids, hours):
    """Move the start of the open tasks of ``ids`` back by ``hours`` and make the instances due.

    One row per statement, so that no statement waits for two rows that workers lock.
    """
    tasks = AutomationTaskModel.objects.filter(automation_id__in=ids, finished=None)
    for pk in list(tasks.values_list("pk", flat=True)):
        AutomationTaskModel.objects.filter(pk=pk).update(created=F("created") - timedelta(hours=hours))
    for pk in ids:
        AutomationModel.objects.filter(pk=pk, finished=False).update(wake_at=timezone.now())


def open_nodes(automation_id):
    rows = AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None)
    return tuple(sorted(rows.values_list("status", flat=True)))


def send_all(ids, token):
    cls = registry.get(CLASS_PATH)  # the class as this process has it now
    for automation_id in ids:
        cls(automation_id=automation_id).send_message("news", token)


def submit_open_forms(ids, person):
    for automation_id in ids:
        tasks = AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None, status="ask")
        for task in tasks:
            testing.submit(task, {"approved": "on"}, user=person)


def populate(cls, person) -> dict[str, list[int]]:
    """Return the ids of 5 groups of v1 instances: at a timer, a form, a message, in a split, at a join."""
    early = [cls(n=n).id for n in range(4 * GROUP)]
    let_time_pass(early, 1)
    testing.run_until_idle()  # past wait_time: all at the form
    groups = {"form": early[:GROUP], "message": early[GROUP : 2 * GROUP]}
    groups["split"], groups["join"] = early[2 * GROUP : 3 * GROUP], early[3 * GROUP :]
    submit_open_forms(early[GROUP:], person)
    send_all(groups["split"] + groups["join"], "message")  # into the split, both paths waiting
    let_time_pass(groups["join"], 2)
    testing.run_until_idle()  # their right paths arrive at the join
    groups["time"] = [cls(n=n).id for n in range(4 * GROUP, 5 * GROUP)]
    return groups


def assert_nothing_failed(workers):
    workers.assert_running()
    failed = list(instances().exclude(error="").values_list("pk", "status", "error")[:3])
    failed += list(instances().filter(status=Status.FAILED).values_list("pk", "status", "error")[:3])
    assert not failed, f"{failed}\n{workers.logs()}"


def progress(everyone):
    return {
        "finished": instances().filter(finished=True).count(),
        "held": instances().filter(status=Status.NEEDS_MIGRATION).count(),
        "open": sorted({open_nodes(i) for i in everyone})[:8],
    }


def test_a_rolling_deploy_over_4_workers_loses_nothing_and_runs_nothing_twice(workers, person, settings):
    with testing.restored_registry():
        v1 = declare("v1")
        for index in range(WORKERS):
            workers.start(index, ATM_TEST_RELEASE="v1")
        groups = populate(v1, person)
        everyone = [i for ids in groups.values() for i in ids]
        assert {open_nodes(i) for i in groups["time"]} == {("wait_time",)}
        assert {open_nodes(i) for i in groups["form"]} == {("ask",)}
        assert {open_nodes(i) for i in groups["message"]} == {("wait_message",)}
        assert {open_nodes(i) for i in groups["split"]} == {("left", "right")}
        assert {open_nodes(i) for i in groups["join"]} == {("left", "merge")}
        workers.wait_until_listening()

        # The rolling deploy: this process (the web server) has the new code, then each worker in turn,
        # while timers are due and forms and messages come in for the workers to step.
        settings.ATM_WORKER = True
        declare("v2")
        out = StringIO()
        call_command("automation_versions", "--check", stdout=out)  # raises CommandError if it fails
        assert "Journey.wait_time: 20 instances move to wait_an_hour (renamed)." in out.getvalue()
        let_time_pass(groups["time"], 1)
        workers.replace(0, ATM_TEST_RELEASE="v2")
        workers.wait_until_listening()  # its first sweep made the mapped instances due, for old workers too
        send_all(groups["message"], "message")
        workers.replace(1, ATM_TEST_RELEASE="v2")
        submit_open_forms(groups["form"], person)
        let_time_pass(groups["split"], 2)
        workers.replace(2, ATM_TEST_RELEASE="v2")
        workers.replace(3, ATM_TEST_RELEASE="v2")
        workers.wait_until_listening()
        assert_nothing_failed(workers)

        deadline = time.monotonic() + DEADLINE
        while instances().filter(finished=True).count() < len(everyone):
            assert_nothing_failed(workers)
            assert time.monotonic() < deadline, f"not finished: {progress(everyone)}\n{workers.logs()}"
            waiting = list(instances().filter(finished=False).values_list("pk", flat=True))
            submit_open_forms(waiting, person)
            send_all(waiting, "left")
            let_time_pass(waiting, 3)
            time.sleep(1)

    assert_nothing_failed(workers)
    assert not instances().filter(status=Status.NEEDS_MIGRATION).exists()
    effects: dict[int, list[str]] = {}
    for automation_id, label in NodeEffect.objects.values_list("automation_id", "node"):
        effects.setdefault(automation_id, []).append(label)
    for automation_id in everyone:  # each label at most once per instance: the unique constraint
        assert {"begin", "timer", "left", "right", "done-v1"} <= set(effects[automation_id]), automation_id
    for automation_id in groups["split"] + groups["join"]:
        assert "audit" not in effects[automation_id]  # inside the split before the deploy: as reviewed
    workers_seen = set(NodeEffect.objects.values_list("worker", flat=True))
    assert len(workers_seen) > 2, "the workers did not share the work"
