"""The reliability benchmark's fault scenarios run end to end, short (PostgreSQL, its own redis-server).

No timings are asserted: each run must lose and duplicate no effect and have every publish confirmed.
``pg-restart`` runs on a PostgreSQL server of the benchmark's own, which needs ``initdb``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REQUIRE_SERVICES

pytestmark = [pytest.mark.bench, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent


def needs(*missing):
    missing = [what for what in missing if what]
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(f"ATM_REQUIRE_SERVICES=1, but the benchmark needs {' and '.join(missing)}.")
        pytest.skip(f"needs {' and '.join(missing)}")


@pytest.mark.parametrize("scenario", ["sigstop", "slow-node", "pg-restart"])
def test_reliability_bench_fault_scenario_runs_quick(scenario):
    url = os.environ.get("DATABASE_URL", "")
    needs(
        "" if url.startswith(("postgres://", "postgresql://")) else "DATABASE_URL=postgres://...",
        "" if shutil.which("redis-server") else "redis-server on PATH",
        "" if scenario != "pg-restart" or shutil.which("pg_config") or shutil.which("initdb") else "initdb",
    )
    name = f"{urlsplit(url).path.lstrip('/') or 'postgres'}_bench_faults"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, str(ROOT / "bench" / "reliability.py"), "--scenario", scenario, "--quick",
               "--workers", "2", "--drain", "60", "--database-name", name]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "effects lost                                       0" in output
    assert "effects duplicated                                 0" in output
    assert "not confirmed" not in output
