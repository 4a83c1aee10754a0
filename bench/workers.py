"""``automation_worker`` processes on the benchmark's database and Redis, and publishing to them."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
READY = " listening on channel "


def database_url(database: dict) -> str:
    """Return the ``DATABASE_URL`` of the benchmark's own database (its ``TEST`` name)."""
    name = database["TEST"]["NAME"]
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{name}"
    user = quote(database["USER"] or "")
    password = f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    host = database["HOST"] or "127.0.0.1"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{credentials}{host}{port}/{name}"


class Workers:
    """Started ``manage.py automation_worker`` processes, one per channel given; stopped on exit."""

    def __init__(self, channels, *, database: dict, redis_url: str, sweep_interval: float = 30):
        self.log = tempfile.TemporaryFile(mode="w+")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.worker_settings",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url,
            "ATM_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "manage.py", "automation_worker", "--sweep-interval", str(sweep_interval)]
        self.processes = [
            subprocess.Popen(
                [*command, "--channel", channel], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                stderr=self.log, text=True,
            )  # fmt: skip
            for channel in channels
        ]

    def __enter__(self):
        deadline = time.monotonic() + 60
        for process in self.processes:
            line = process.stdout.readline()
            if READY not in line or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"a worker did not start: {line!r}\n{self.errors()}")
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def errors(self) -> str:
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        from tests.people.live_server import stop

        for process in self.processes:
            stop(process)
            process.stdout.close()
