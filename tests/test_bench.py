"""The benchmark runs end to end on a small workload, and its own checks of the engine pass.

The figures themselves are not asserted (no timed assertions in tests): ``make bench`` prints them.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "--runs", "1", "--instances", "5", "--sizes", "20,40", "--repeats", "2",
    "--blocked", "10", "--recheck-runs", "1",
]  # fmt: skip


def run_bench(*args):
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), *SMALL, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )


def assert_complete_report(result):
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "Throughput: 5 instances x (10 Execute + End) = 55 nodes per run" in output
    assert "per Execute node" in output
    assert "       20 sleeping" in output and "       40 sleeping" in output
    assert "check: the 5 earliest sleepers woke when due and ran start -> wake -> end" in output
    assert "Blocked: 10 instances waiting on AsSoonAs" in output
    assert "check: 3 instances whose condition turned true finished at the next re-check" in output


def test_bench_runs_on_a_temporary_sqlite_file():
    result = run_bench()
    assert_complete_report(result)
    assert "SQLite" in result.stdout and "journal_mode=wal" in result.stdout


def test_bench_runs_one_scenario():
    result = run_bench("--only", "idle")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Idle automation_step" in result.stdout
    assert "Throughput" not in result.stdout and "Blocked" not in result.stdout


def test_bench_refuses_tiny_populations():
    result = run_bench("--sizes", "5")
    assert result.returncode == 2
    assert "give sizes of at least 10" in result.stderr


@pytest.mark.postgres
def test_bench_runs_on_postgresql():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        if REQUIRE_SERVICES:
            pytest.fail("ATM_REQUIRE_SERVICES=1, but DATABASE_URL does not point to PostgreSQL.")
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = f"{urlsplit(url).path.lstrip('/') or 'postgres'}_bench"
    result = run_bench("--postgres", "--database-name", name)
    assert_complete_report(result)
    assert "PostgreSQL" in result.stdout and f"database {name}" in result.stdout
