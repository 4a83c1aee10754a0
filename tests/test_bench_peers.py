"""Our side of the side-by-side benchmark and the embedded-mode benchmark run on a tiny workload.

The peers' packages are never installed here (``bench/peers.py`` does that when it runs); their
workload scripts run only in the benchmark. No timings are asserted.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import peers

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / "bench" / "peer_workloads" / "run_ours.py"


def run(*command, timeout=300):
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, *map(str, command)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ours.sqlite3'}"
    result = run(OURS, "--database-url", url, "--prepare", "--journal", "default")
    assert result.returncode == 0, result.stderr
    return url


def figures(url, scenario, workflows):
    result = run(
        OURS,
        "--database-url",
        url,
        "--journal",
        "default",
        "--scenario",
        scenario,
        "--workflows",
        str(workflows),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_our_workloads_run_and_count_their_statements(database_url):
    steps = figures(database_url, "steps", 4)
    assert steps["side"] == "ours" and steps["units"] == 40
    assert steps["statements"] >= 4 and steps["seconds"] > 0 and steps["cpu"] > 0
    saving = figures(database_url, "saving-steps", 4)
    # The nodes' own save() calls are each step's one UPDATE of the instance: nothing more is sent.
    assert saving["statements"] == steps["statements"] and saving["units"] == 40
    assert figures(database_url, "fanout", 3)["units"] == 3


def test_our_sleepers_all_wake(database_url):
    sleeps = figures(database_url, "sleeps", 3)
    assert len(sleeps["lateness_ms"]) == 3 and min(sleeps["lateness_ms"]) >= 0


def test_ratios_are_of_the_medians():
    ours = [{"units": 100, "seconds": s, "cpu": 1.0} for s in (1.0, 2.0, 4.0)]
    theirs = [{"units": 100, "seconds": s, "cpu": 2.0} for s in (4.0, 8.0, 100.0)]
    assert peers.rates(ours, "per_second") == [100, 50, 25]
    assert peers.ratio(peers.rates(ours, "per_second"), peers.rates(theirs, "per_second")) == "4.00x"
    assert peers.ratio(peers.rates(ours, "per_cpu"), peers.rates(theirs, "per_cpu")) == "2.00x"
    assert peers.median_range([3.0, 1.0, 2.0]) == "2 (1 .. 3)"


def test_unknown_peers_are_refused(capsys):
    with pytest.raises(SystemExit):
        peers.parse_args(["--peers", "dbos,temporal"])
    assert "unknown peers: temporal" in capsys.readouterr().err


def test_embedded_bench_runs_on_sqlite():
    result = run(
        ROOT / "bench" / "run.py",
        "--embedded",
        "--sleepers",
        "3",
        "--starts",
        "3",
        "--runs",
        "1",
        "--lead",
        "15",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 instances sleeping 1 s, all due at one moment, automation_server" in result.stdout
    assert "lateness, scheduler in the server process" in result.stdout
    assert "web request while the wakes run" in result.stdout
    assert "starting 3 instances in a request" in result.stdout
