"""A long call on a real task backend: ``django-tasks-db`` and its ``db_worker``, killed mid-call.

``LongCallWork`` (tests/testapp/automations.py) enqueues its threaded call on the database task
backend. A ``db_worker`` takes it; its first attempt hangs, and the worker is killed (SIGKILL), so
the backend leaves that task running for ever. When the lease has run out, a sweep enqueues the
call again (attempt 2); a new ``db_worker`` runs it, and the instance finishes. The call's
database effect happened once: the killed attempt's was rolled back with its transaction.

Time is real here (the backend's worker is another process): the lease is two seconds. Needs
``DATABASE_URL`` to point to PostgreSQL; skips otherwise, and fails instead when
``ATM_REQUIRE_SERVICES=1``.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from automations.models import AutomationModel, LongCall
from tests.helpers import require_postgres
from tests.people.live_server import stop
from tests.testapp.automations import LongCallWork
from tests.testapp.models import NodeEffect
from tests.worker_processes import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEADLINE = 30  # seconds for each stage; it needs a few


@pytest.fixture(autouse=True)
def database_backend(settings):
    require_postgres()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.ATM_TASK_LEASE = 2


@pytest.fixture
def db_workers(tmp_path):
    started = []

    def start():
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_tasks", "ATM_TEST_USE_TEST_DB": "1",
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        log = open(tmp_path / f"db_worker-{len(started)}.log", "w")  # noqa: SIM115
        with log:
            command = [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"]
            started.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        return started[-1]

    try:
        yield start
    finally:
        for process in started:
            stop(process)


def wait_for(condition, what, logs):
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE} s\n{logs()}"
        time.sleep(0.1)


def test_a_call_lost_with_its_killed_worker_is_enqueued_again_and_finishes_once(db_workers, tmp_path):
    flags = tmp_path / "attempts"
    flags.mkdir()

    def logs():
        return "\n".join(path.read_text()[-3000:] for path in sorted(tmp_path.glob("*.log")))

    work = LongCallWork(flags=str(flags))
    first = db_workers()
    wait_for(lambda: (flags / "attempt-1").exists(), "the first attempt started", logs)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert LongCall.objects.get(automation_id=work.id).attempt == 1

    def enqueued_again():
        AutomationModel.run()  # the sweep of automation_step: the instance is due when its lease ends
        return LongCall.objects.get(automation_id=work.id).attempt == 2

    wait_for(enqueued_again, "the call was enqueued again", logs)
    db_workers()
    wait_for(lambda: AutomationModel.objects.get(pk=work.id).finished, "the instance finished", logs)
    finished = AutomationModel.objects.get(pk=work.id)
    assert finished.error == "" and finished.data["attempts_seen"] == 2
    assert sorted(os.listdir(flags)) == ["attempt-1", "attempt-2"]
    assert NodeEffect.objects.filter(automation_id=work.id).count() == 1  # the killed attempt's rolled back
    assert LongCall.objects.get(automation_id=work.id).outcome["result"] == {"attempt": 2}
