"""The retry benchmark runs end to end on a small workload (SQLite); no timings asserted."""

import pytest

from tests.bench_runs import run_script

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)


def test_retry_bench_runs_on_a_small_workload():
    arguments = ["--instances", "40", "--alarms", "10", "--pause", "2"]
    result = run_script("bench/retries.py", *arguments, sqlite=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "120 calls for 40 instances (3.00 each)" in result.stdout
    assert "alarms while the retries wait" in result.stdout and "threads of the process" in result.stdout
