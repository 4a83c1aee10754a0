"""The flow-control benchmark runs end to end on a small workload (PostgreSQL, Redis); no timings asserted.

It checks itself that no customer ever had more calls at once than the limit, and that every
instance finished and released its ticket.
"""

import pytest

from tests.bench_runs import database_name, needs, postgres, redis, run_script

pytestmark = [pytest.mark.bench, pytest.mark.postgres, pytest.mark.redis]


def test_flow_control_bench_runs_on_a_small_workload():
    needs(postgres(), redis())
    arguments = ["--instances", "12", "--customers", "2", "--workers", "2", "--call-seconds", "0.05"]
    result = run_script("bench/flow_control.py", *arguments, "--database-name", database_name("bench_flow"))
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "12 instances of 2 customers" in output
    for label in ("node .Concurrency(3, key='customer'), run 1", "class Meta.concurrency = 3"):
        assert label in output
    assert output.count("(limit 3)") == 2 and output.count("hand-over") == 2
