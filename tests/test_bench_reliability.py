"""The reliability benchmark's fault scenarios run end to end, short (PostgreSQL, its own redis-server).

No timings are asserted: each run must lose and duplicate no effect and have every publish confirmed.
``pg-restart`` runs on a PostgreSQL server of the benchmark's own, which needs ``initdb``.
"""

import shutil

import pytest

from tests.bench_runs import database_name, needs, postgres, program, run_script

pytestmark = [pytest.mark.bench, pytest.mark.postgres]


@pytest.mark.parametrize("scenario", ["sigstop", "slow-node", "pg-restart"])
def test_reliability_bench_fault_scenario_runs_quick(scenario):
    needs(
        postgres(),
        program("redis-server"),
        "" if scenario != "pg-restart" or shutil.which("pg_config") or shutil.which("initdb") else "initdb",
    )
    arguments = ["--scenario", scenario, "--quick", "--workers", "2", "--drain", "60"]
    name = database_name("bench_faults")
    result = run_script("bench/reliability.py", *arguments, "--database-name", name, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "effects lost                                       0" in output
    assert "effects duplicated                                 0" in output
    assert "not confirmed" not in output
