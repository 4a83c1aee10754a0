"""The fan-out benchmark runs end to end on a tiny workload (SQLite); no timings asserted."""

import pytest

from tests.bench_runs import run_script

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)


def test_fanout_bench_runs_on_a_small_workload():
    result = run_script("bench/fanout.py", "--items", "300", "--runs", "1", sqlite=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "300 paths per instance, 1 run(s) each" in result.stdout
    for label in ("all at once:", "Limit(100):"):
        assert label in result.stdout
    assert result.stdout.count("per path (SAVEPOINT") == 2
    assert result.stdout.count("MiB allocated by Python") == 2
