"""The live-pages benchmark runs end to end, small (``--quick``): a real browser, a server, workers.

In memory (SQLite, ``automation_server``) wherever chromium runs; with ``DATABASE_URL`` on
PostgreSQL and ``REDIS_URL`` also with 4 ``automation_worker`` processes and daphne, as measured.
Timings are printed, never asserted.
"""

import pytest

from tests.bench_runs import database_name, needs, postgres, redis, run_script
from tests.people.test_browser import chromium_or_skip

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)


def run_live_pages(*args, env_extra=None):
    chromium_or_skip()
    return run_script("bench/live_pages.py", "--quick", *args, env_extra=env_extra, timeout=180)


def assert_complete_report(result):
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout
    assert "6 events spaced 0.2 s apart (2 rounds of 3), 3 in bursts (1 of 3 at once)" in output
    assert output.count("event -> instance page shows it") == 2
    assert output.count("event -> console list row shows it") == 2
    assert "socket message -> page updated" in output
    assert "rendering one socket message (in this process)" in output


def test_live_pages_bench_in_memory():
    result = run_live_pages()
    assert_complete_report(result)
    assert "in-memory layer, automation_server" in result.stdout


@pytest.mark.postgres
@pytest.mark.redis
def test_live_pages_bench_with_four_workers_on_redis():
    needs(postgres(), redis())
    name = database_name("live")
    result = run_live_pages("--postgres", "--redis", "--database-name", name)
    assert_complete_report(result)
    assert "4 automation_worker processes, daphne" in result.stdout
    assert "node ran -> step committed" in result.stdout and "no samples" not in result.stdout
