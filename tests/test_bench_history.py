"""The history benchmark runs end to end on a tiny workload (SQLite); no timings asserted."""

import pytest

from tests.bench_runs import run_script

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)


def test_history_bench_runs_on_a_small_workload():
    arguments = ["--sized", "20", "--instances", "30", "--batch-size", "10"]
    result = run_script("bench/history.py", *arguments, sqlite=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Size per 1,000 finished TenSteps (11 task rows each), from 20 run" in result.stdout
    assert "Deleting 30 finished instances with their tasks (delete_history, days=30):" in result.stdout
    assert "batches of" in result.stdout and "steps while deleting" in result.stdout
