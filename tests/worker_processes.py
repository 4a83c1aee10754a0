"""Real ``manage.py automation_worker`` processes on the test database, for the scale-out and deploy tests."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import REQUIRE_SERVICES
from tests.people.live_server import stop

ROOT = Path(__file__).resolve().parent.parent
SWEEP_INTERVAL = "2"


def require_postgres_and_redis():
    """Skip unless on PostgreSQL with ``REDIS_URL`` set; fail instead with ``ATM_REQUIRE_SERVICES=1``."""
    missing = []
    if connection.vendor != "postgresql":
        missing.append("DATABASE_URL=postgres://...")
    if not os.environ.get("REDIS_URL"):
        missing.append("REDIS_URL=redis://...")
    if not missing:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"ATM_REQUIRE_SERVICES=1, but these are not set: {', '.join(missing)}.")
    pytest.skip(f"needs PostgreSQL and Redis: set {' and '.join(missing)}")


@contextmanager
def workers_on_own_channel(settings, directory, name, settings_module="tests.settings"):
    """Yield :class:`Workers` on a channel of the test's own (``settings.ATM_CHANNEL_NAME``); stop them after.

    Events that other tests left on the shared channel never reach them.
    """
    settings.ATM_CHANNEL_NAME = f"automations.test-{name}.{uuid.uuid4().hex[:12]}"
    running = Workers(settings.ATM_CHANNEL_NAME, directory, settings_module=settings_module)
    try:
        yield running
    finally:
        running.stop()


class Workers:
    """``manage.py automation_worker`` processes on the test database, logging to files."""

    def __init__(self, channel, directory, settings_module="tests.settings"):
        self.channel, self.directory, self.settings_module = channel, directory, settings_module
        self.processes: dict[int, subprocess.Popen] = {}
        self.log_paths: dict[int, Path] = {}
        self.started = 0
        self.retired: list[subprocess.Popen] = []

    def start(self, index, **environ):
        """Start worker ``index`` with ``environ`` added to its environment (e.g. ``ATM_TEST_RELEASE``)."""
        env = {
            **os.environ,
            **environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "ATM_TEST_USE_TEST_DB": "1",
            "PYTHONPATH": str(ROOT),
        }
        command = [
            sys.executable, "manage.py", "automation_worker",
            "--channel", self.channel, "--sweep-interval", SWEEP_INTERVAL,
        ]  # fmt: skip
        self.started += 1
        self.log_paths[index] = self.directory / f"worker-{index}-{self.started}.log"
        log = open(self.log_paths[index], "w")  # noqa: SIM115
        with log:
            self.processes[index] = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def replace(self, index, **environ):
        """Start worker ``index`` anew with ``environ``, then stop the old one (SIGTERM): a rolling deploy."""
        old = self.processes.pop(index)
        self.start(index, **environ)
        old.terminate()  # it ends its work and stops by itself; stop() waits for it
        self.retired.append(old)

    def kill(self, index):
        process = self.processes.pop(index)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def wait_until_listening(self, timeout=60):
        """Wait until every running worker has beaten, swept once and listens (it says so)."""
        deadline = time.monotonic() + timeout
        logs = [self.log_paths[index] for index in self.processes]
        while not all("listening on channel" in log.read_text() for log in logs):
            self.assert_running()
            assert time.monotonic() < deadline, f"not listening after {timeout} s\n{self.logs()}"
            time.sleep(0.05)

    def assert_running(self):
        stopped = {index: p.returncode for index, p in self.processes.items() if p.poll() is not None}
        assert not stopped, f"workers stopped: {stopped}\n{self.logs()}"

    def logs(self):
        logs = sorted(self.directory.glob("*.log"))
        return "\n".join(f"== {path.name}\n{path.read_text()[-3000:]}" for path in logs)

    def retired_exit_codes(self, timeout=20):
        """Wait for the workers :meth:`replace` stopped; return their exit codes."""
        return [process.wait(timeout=timeout) for process in self.retired]

    def stop(self):
        for process in [*self.processes.values(), *self.retired]:
            stop(process)
        self.processes.clear()
        self.retired.clear()
