"""The publish-burst benchmark runs end to end on a tiny burst (PostgreSQL, its own redis-server).

No timings are asserted: the run must confirm every start, drop no receipt and apply each start once.
"""

import pytest

from tests.bench_runs import database_name, needs, postgres, program, run_script

pytestmark = [pytest.mark.bench, pytest.mark.postgres]


def test_publish_burst_bench_runs_quick():
    needs(postgres(), program("redis-server"))
    name = database_name("bench_publish")
    result = run_script("bench/publish_burst.py", "--quick", "--database-name", name, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "200 confirmed automation.start events, 20 in flight" in output
    assert "not confirmed (raised)                   0" in output
    assert "receipts dropped by the workers          0" in output
    assert "200 instances (200 distinct starts)" in output
