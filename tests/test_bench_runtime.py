"""The runtime benchmark runs end to end on a tiny workload (in-memory layer, SQLite); no timings asserted."""

import pytest

from tests.bench_runs import run_script

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)


def test_runtime_bench_runs_in_memory():
    result = run_script("bench/runtime.py", "--samples", "5", "--nappers", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Event -> step committed" in result.stdout
    assert "(5 samples)" in result.stdout and "Timer lateness" in result.stdout


def test_runtime_bench_needs_postgres_for_redis():
    result = run_script("bench/runtime.py", "--redis")
    assert result.returncode == 2 and "--redis needs --postgres" in result.stderr
