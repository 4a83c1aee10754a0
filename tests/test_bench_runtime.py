"""The runtime benchmark runs end to end on a tiny workload (in-memory layer, SQLite); no timings asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

ROOT = Path(__file__).resolve().parent.parent


def test_runtime_bench_runs_in_memory():
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "runtime.py"), "--samples", "5", "--nappers", "5"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Event -> step committed" in result.stdout
    assert "(5 samples)" in result.stdout and "Timer lateness" in result.stdout


def test_runtime_bench_needs_postgres_for_redis():
    command = [sys.executable, str(ROOT / "bench" / "runtime.py"), "--redis"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "--redis needs --postgres" in result.stderr
