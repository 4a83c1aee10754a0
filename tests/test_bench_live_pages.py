"""The live-pages benchmark runs end to end, small (``--quick``): a real browser, a server, workers.

In memory (SQLite, ``automation_server``) wherever chromium runs; with ``DATABASE_URL`` on
PostgreSQL and ``REDIS_URL`` also with 4 ``automation_worker`` processes and daphne, as measured.
Timings are printed, never asserted.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.people.test_browser import chromium_or_skip

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

ROOT = Path(__file__).resolve().parent.parent


def run_live_pages(*args, env_extra=None):
    chromium_or_skip()
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "live_pages.py"), "--quick", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=180,
    )  # fmt: skip


def assert_complete_report(result):
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "6 events spaced 0.2 s apart (2 rounds of 3), 3 in bursts (1 of 3 at once)" in output
    assert output.count("event -> instance page shows it") == 2
    assert output.count("event -> console list row shows it") == 2
    assert "socket message -> page updated" in output
    assert "rendering one socket message (in this process)" in output


def test_live_pages_bench_in_memory():
    result = run_live_pages()
    assert_complete_report(result)
    assert "in-memory layer, automation_server" in result.stdout


@pytest.mark.postgres
@pytest.mark.redis
def test_live_pages_bench_with_four_workers_on_redis():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not os.environ.get("REDIS_URL"):
        if REQUIRE_SERVICES:
            pytest.fail(
                "ATM_REQUIRE_SERVICES=1, but DATABASE_URL or REDIS_URL does not point to the services."
            )
        pytest.skip("needs PostgreSQL and Redis: set DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    name = f"{urlsplit(url).path.lstrip('/') or 'postgres'}_live"
    result = run_live_pages("--postgres", "--redis", "--database-name", name)
    assert_complete_report(result)
    assert "4 automation_worker processes, daphne" in result.stdout
    assert "node ran -> step committed" in result.stdout and "no samples" not in result.stdout
