"""The history benchmark runs end to end on a tiny workload (SQLite); no timings asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

ROOT = Path(__file__).resolve().parent.parent


def test_history_bench_runs_on_a_small_workload():
    env = {name: value for name, value in os.environ.items() if name not in ("DJANGO_SETTINGS_MODULE",)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "history.py"), "--sized", "20", "--instances", "30",
         "--batch-size", "10"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Size per 1,000 finished TenSteps (11 task rows each), from 20 run" in result.stdout
    assert "Deleting 30 finished instances with their tasks (delete_history, days=30):" in result.stdout
    assert "batches of" in result.stdout and "steps while deleting" in result.stdout
