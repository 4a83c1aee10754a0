"""The benchmark runs end to end on a small workload, and its own checks of the engine pass.

The figures themselves are not asserted (no timed assertions in tests): ``make bench`` prints them.
"""

import pytest

from tests.bench_runs import database_name, needs, postgres, run_script

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

SMALL = [
    "--runs", "1", "--instances", "5", "--sizes", "20,40", "--repeats", "2",
    "--blocked", "10", "--recheck-runs", "1",
]  # fmt: skip


def run_bench(*args):
    return run_script("bench/run.py", *SMALL, *args, timeout=600)


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
    needs(postgres())
    name = database_name("bench")
    result = run_bench("--postgres", "--database-name", name)
    assert_complete_report(result)
    assert "PostgreSQL" in result.stdout and f"database {name}" in result.stdout
