"""Our side of the side-by-side benchmark and the embedded-mode benchmark run on a tiny workload.

The peers' packages are never installed here (``bench/peers.py`` does that when it runs); their
workload scripts run only in the benchmark. No timings are asserted.
"""

import json
import time

import pytest

from bench import peers
from tests.bench_runs import ROOT, run_script

pytestmark = pytest.mark.bench  # smoke runs of the benchmarks: CI runs them apart (pytest -m bench)

OURS = ROOT / "bench" / "peer_workloads" / "run_ours.py"


@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ours.sqlite3'}"
    result = run_script(OURS, "--database-url", url, "--prepare", "--journal", "default")
    assert result.returncode == 0, result.stderr
    return url


def figures(url, scenario, workflows, *extra):
    result = run_script(
        OURS,
        "--database-url",
        url,
        "--journal",
        "default",
        "--scenario",
        scenario,
        "--workflows",
        str(workflows),
        *extra,
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


def test_our_staggered_sleepers_all_wake(database_url):
    # Started one after another over 1.5 s: the first falls due while the last are being started.
    staggered = figures(database_url, "staggered-sleeps", 4, "--spread", "1.5")
    assert staggered["scenario"] == "staggered-sleeps" and staggered["units"] == 4
    assert len(staggered["lateness_ms"]) == 4 and min(staggered["lateness_ms"]) >= 0


def test_starts_are_paced():
    from bench.peer_workloads.counting import paced

    times = paced(4, 0.2, time.monotonic)
    assert len(times) == 4
    assert 0.14 <= times[-1] - times[0] < 1.0  # the last 3/4 of the spread after the first


def test_ratios_are_of_the_medians():
    ours = [{"units": 100, "seconds": s, "cpu": 1.0} for s in (1.0, 2.0, 4.0)]
    theirs = [{"units": 100, "seconds": s, "cpu": 2.0} for s in (4.0, 8.0, 100.0)]
    assert peers.rates(ours, "per_second") == [100, 50, 25]
    assert peers.ratio(peers.rates(ours, "per_second"), peers.rates(theirs, "per_second")) == "4.00x"
    assert peers.ratio(peers.rates(ours, "per_cpu"), peers.rates(theirs, "per_cpu")) == "2.00x"
    assert peers.median_range([3.0, 1.0, 2.0]) == "2 (1 .. 3)"
    assert peers.verdict([4.0], [1.0], 4) == "met" and peers.verdict([3.9], [1.0], 4) == "MISSED"


def synthetic_results() -> peers.Results:
    """Figures as the workloads report them, without running any (the peers are never installed here)."""
    results = peers.Results()
    rate = {"saving-steps": 500, "steps": 900, "fanout": 50, "fanout-children": 10}
    for side in (peers.OURS, *peers.PEERS.values()):
        for number in range(3):
            for scenario in side.scenarios:
                per_second = rate.get(scenario, 100) if side is peers.OURS else 100
                if "sleeps" in scenario:
                    figures = {"lateness_ms": [10.0 * (number + 1), 20.0, 30.0], "units": 3}
                else:
                    figures = {"units": 100, "seconds": 100 / per_second, "cpu": 100 / per_second}
                    figures.update(statements=250, commits=20)
                results.add(side.name, scenario, figures)
    return results


def test_the_headline_is_the_saving_workload(capsys):
    args = peers.parse_args(["--rounds", "3"])
    peers.print_peers(args, [peers.OURS, *peers.PEERS.values()], synthetic_results())
    out = capsys.readouterr().out
    headline, second = out.split("The same, our nodes saving nothing")
    assert headline.lstrip().startswith("300 workflows of 10 steps") and "each step saves" in headline
    assert "Django Automations (saving-steps)" in headline
    # ours 500 steps/s against 100: 5x DBOS (target 4x) and 5x Viewflow (target 3x), both met
    assert "ours / theirs: 5.00x (target >= 4x: met)" in headline
    assert "ours / theirs: 5.00x (target >= 3x: met)" in headline
    assert "Django Automations (steps)" in second and "ours / theirs: 9.00x" in second
    assert "(asyncio.gather of 4 steps)" in second and "(4 child workflows)" in second
    assert "started one after another over 4 s" in second
    assert "target ours <= DBOS at p50 and p99: met" in second


def test_unknown_peers_are_refused(capsys):
    with pytest.raises(SystemExit):
        peers.parse_args(["--peers", "dbos,temporal"])
    assert "unknown peers: temporal" in capsys.readouterr().err


def test_embedded_bench_runs_on_sqlite():
    result = run_script(
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
        "--spread",
        "1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 instances sleeping 1 s, all due at one moment, automation_server" in result.stdout
    assert "lateness, scheduler in the server process" in result.stdout
    assert "web request while the wakes run" in result.stdout
    assert "starting 3 instances in a request" in result.stdout
    assert "3 instances sleeping 1 s, started one after another over 1 s" in result.stdout
    assert "one start" in result.stdout
