"""The embedded mode as a user runs it: ``manage.py automation_server`` in a process of its own.

An instance with a 2-second wait is created over HTTP and finishes about 2 seconds later, with
nobody calling ``automation_step``: the server's own scheduler worker fires the timer.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from automations.models import AutomationModel
from tests.people.live_server import free_port, stop, wait_until_up

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_server", "ATM_TEST_USE_TEST_DB": "1"}
    log = tmp_path / "automation_server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "automation_server", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(url, process, 30, path="/accounts/login/")
        except RuntimeError as exc:
            pytest.fail(f"{exc}\n{log.read_text()}")
        yield url
    finally:
        stop(process)


def test_a_two_second_wait_created_over_http_finishes_two_seconds_later(server):
    body = urllib.parse.urlencode({"seconds": 2}).encode()
    started = time.monotonic()
    with urllib.request.urlopen(server + "/test/napper/", data=body, timeout=10) as response:
        napper_id = json.load(response)["id"]
    while not AutomationModel.objects.filter(pk=napper_id, finished=True).exists():
        assert time.monotonic() - started < 10, "the napper did not finish within 10 s"
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    instance = AutomationModel.objects.get(pk=napper_id)
    slept = (datetime.fromisoformat(instance.data["woke_at"]) - instance.created).total_seconds()
    assert 2.0 <= slept < 2.5
    assert 1.9 <= elapsed < 3.5
