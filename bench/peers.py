"""Side by side with DBOS Transact and Viewflow, and against the older implementation.

    .venv/bin/python bench/peers.py                    # all sides, 9 alternating rounds, PostgreSQL
    .venv/bin/python bench/peers.py --older-only       # the older implementation vs ours, SQLite
    make bench BENCH_ARGS="--peers --rounds 5"         # the same through bench/run.py

The peers' packages are installed by this command into throw-away virtual environments
(``var/bench-venvs/``, reused while their pinned versions stay the same). Each side's workload is a
script in ``bench/peer_workloads/`` that runs in its own process, in its own environment, on a
database of its own on the same PostgreSQL server (``DATABASE_URL``'s). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

from bench.measure import cpu_model, load_average, percentile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "bench" / "peer_workloads"
VENVS = ROOT / "var" / "bench-venvs"
POSTGRES_DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"


@dataclass
class Side:
    name: str
    title: str
    script: str
    scenarios: tuple[str, ...]
    packages: tuple[str, ...] = ()  # empty: the project's own environment
    python: str | None = None  # interpreter of its environment; None: this one's

    def interpreter(self, venvs: Path) -> str:
        return sys.executable if not self.packages else str(venvs / self.name / "bin" / "python")


OURS = Side(
    "ours",
    "Django Automations",
    "run_ours.py",
    ("saving-steps", "steps", "fanout", "sleeps", "staggered-sleeps"),
)
PEERS = {
    "dbos": Side(
        "dbos",
        "DBOS Transact 3.4",
        "run_dbos.py",
        ("steps", "fanout", "fanout-children", "sleeps", "staggered-sleeps"),
        ("dbos==3.4.*", "psycopg[binary]>=3.2"),
    ),
    "viewflow": Side(
        "viewflow",
        "Viewflow 2.4",
        "run_viewflow.py",
        ("steps", "fanout"),
        ("django-viewflow==2.4.*", "Django>=5.2,<6.2", "psycopg[binary]>=3.2"),
    ),
}
OLDER = Side(
    "older",
    "older django-automations 0.9",
    "run_older.py",
    ("steps",),
    ("django-automations==0.9.*", "Django==3.2.*"),
)
OLDER_PYTHON = "3.10"  # the older package supports Python 3.7-3.10 and Django 3.0-3.2
TARGETS = {"dbos": 4.0, "viewflow": 3.0}  # ours / theirs on the like-for-like workload (issue 26)
TARGET_OLDER = 10.0  # ours / the older implementation, nodes/s on SQLite


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark Django Automations side by side with its peers.")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument(
        "--workflows", type=int, default=300, help="ten-step workflows per round (default 300)"
    )
    parser.add_argument("--fanout", type=int, default=100, help="fan-out workflows per round (default 100)")
    parser.add_argument("--sleepers", type=int, default=200, help="1 s sleepers per round (default 200)")
    parser.add_argument(
        "--spread",
        type=float,
        default=4.0,
        help="staggered-sleeps: seconds over which the sleepers are started one after another (default 4)",
    )
    parser.add_argument(
        "--peers", default="dbos,viewflow", help="peers to run (default dbos,viewflow; '' none)"
    )
    parser.add_argument("--older", action="store_true", help="also compare with the older implementation")
    parser.add_argument("--older-only", action="store_true", help="only the older implementation vs ours")
    parser.add_argument(
        "--older-workflows", type=int, default=200, help="its instances per round (default 200)"
    )
    parser.add_argument(
        "--older-python", help=f"a Python {OLDER_PYTHON} for its environment (default: found)"
    )
    parser.add_argument(
        "--database-prefix",
        default="atm_bench_peers",
        help="PostgreSQL databases PREFIX_ours, PREFIX_dbos, ... (default atm_bench_peers), dropped first "
        "if they exist and again at the end",
    )
    parser.add_argument(
        "--venvs", type=Path, default=VENVS, help=f"where the peers' venvs live (default {VENVS})"
    )
    args = parser.parse_args(argv)
    args.peers = [] if args.older_only else [name for name in args.peers.split(",") if name]
    unknown = [name for name in args.peers if name not in PEERS]
    if unknown:
        parser.error(f"unknown peers: {', '.join(unknown)}; known: {', '.join(PEERS)}")
    args.older = args.older or args.older_only
    return args


# -- environments ----------------------------------------------------------------------------------


def find_python(version: str) -> str | None:
    """Return an interpreter of Python ``version`` (pyenv's, then ``pythonX.Y`` on PATH), or None."""
    candidates = []
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        versions = sorted(Path(root, "versions").glob(f"{version}.*"), reverse=True)
        candidates += [str(path / "bin" / "python3") for path in versions]
    candidates.append(shutil.which(f"python{version}") or "")
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        try:
            if subprocess.run(probe, capture_output=True, text=True).stdout.strip() == version:
                return candidate
        except OSError:
            continue
    return None


def ensure_venv(side: Side, venvs: Path, python: str | None = None) -> None:
    """Create ``venvs/<side>`` with its pinned packages unless it already has exactly those."""
    directory = venvs / side.name
    stamp = directory / ".bench-packages"
    wanted = "\n".join(side.packages)
    if stamp.exists() and stamp.read_text() == wanted and Path(side.interpreter(venvs)).exists():
        return
    print(f"Installing {', '.join(side.packages)} into {directory} ...", flush=True)
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([python or sys.executable, "-m", "venv", str(directory)], check=True)
    pip = [str(directory / "bin" / "python"), "-m", "pip", "install", "--quiet", "--progress-bar", "off"]
    subprocess.run([*pip, *side.packages], check=True)
    stamp.write_text(wanted)


# -- databases -------------------------------------------------------------------------------------


class Server:
    """The PostgreSQL server of ``DATABASE_URL``: the benchmark's databases and their statistics."""

    def __init__(self, url: str | None):
        import psycopg

        self.parts = urlsplit(url or POSTGRES_DEFAULT_URL)
        if self.parts.scheme not in ("postgres", "postgresql"):
            raise SystemExit(f"the side-by-side benchmark needs a postgres:// DATABASE_URL, not {url!r}")
        self.admin = psycopg.connect(self.url("postgres"), autocommit=True)

    def url(self, name: str) -> str:
        return urlunsplit(self.parts._replace(path=f"/{name}"))

    def recreate(self, name: str) -> None:
        self.drop(name)
        self.admin.execute(f'CREATE DATABASE "{name}"')

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def commits(self, name: str) -> int:
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        row = self.admin.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
        return row[0]

    def version(self) -> str:
        return self.admin.execute("SHOW server_version").fetchone()[0]

    def close(self):
        self.admin.close()


# -- running ---------------------------------------------------------------------------------------


@dataclass
class Results:
    """Every round's figures, by side and scenario."""

    rounds: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def add(self, side: str, scenario: str, figures: dict) -> None:
        self.rounds.setdefault((side, scenario), []).append(figures)

    def get(self, side: str, scenario: str) -> list[dict]:
        return self.rounds.get((side, scenario), [])


class WorkloadFailed(RuntimeError):
    """A side's workload process failed (its check, or the library)."""


def run_workload(side: Side, venvs: Path, *arguments: str) -> dict:
    command = [side.interpreter(venvs), str(WORKLOADS / side.script), *arguments]
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(command, cwd=WORKLOADS, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        checks = [line for line in result.stderr.splitlines() if line.startswith("check failed")]
        if checks:
            raise WorkloadFailed(f"{side.title} ({' '.join(arguments[2:])}): {checks[-1]}")
        raise SystemExit(
            f"{side.title} failed ({' '.join(arguments)}):\n{result.stdout[-2000:]}{result.stderr[-4000:]}"
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def run_measured(server: Server, database: str, side: Side, venvs: Path, *arguments: str) -> dict:
    """Run one workload; add the commits its process made, from ``pg_stat_database``."""
    before = server.commits(database)
    figures = run_workload(side, venvs, *arguments)
    time.sleep(0.5)  # a backend reports its statistics when its connection ends
    figures["commits"] = server.commits(database) - before
    return figures


def sizes(args) -> dict:
    return {
        "saving-steps": args.workflows,
        "steps": args.workflows,
        "fanout": args.fanout,
        "fanout-children": args.fanout,
        "sleeps": args.sleepers,
        "staggered-sleeps": args.sleepers,
    }


def peer_rounds(args, server: Server, sides: list[Side], results: Results) -> None:
    databases = {side.name: f"{args.database_prefix}_{side.name}" for side in sides}
    for side in sides:
        server.recreate(databases[side.name])
        run_workload(side, args.venvs, "--database-url", server.url(databases[side.name]), "--prepare")
    try:
        for number in range(args.rounds):
            order = sides[number % len(sides) :] + sides[: number % len(sides)]
            print(f"  round {number + 1}/{args.rounds}: {', '.join(side.name for side in order)}", flush=True)
            for side in order:
                url = server.url(databases[side.name])
                for scenario in side.scenarios:
                    spread = ["--spread", str(args.spread)] if scenario == "staggered-sleeps" else []
                    try:
                        figures = run_measured(
                            server,
                            databases[side.name],
                            side,
                            args.venvs,
                            "--database-url",
                            url,
                            "--scenario",
                            scenario,
                            "--workflows",
                            str(sizes(args)[scenario]),
                            *spread,
                        )
                    except WorkloadFailed as failure:  # one failed run loses that run, not the benchmark
                        print(f"    failed: {failure}", flush=True)
                        results.failures.append(str(failure))
                        continue
                    results.add(side.name, scenario, figures)
    finally:
        for name in databases.values():
            server.drop(name)


def older_rounds(args, results: Results) -> None:
    directory = Path(tempfile.mkdtemp(prefix="automations-bench-older-"))
    files = {"older": directory / "older.sqlite3", "ours": directory / "ours.sqlite3"}
    ours = ["--journal", "default"]
    try:
        run_workload(OLDER, args.venvs, "--database-url", f"sqlite:///{files['older']}", "--prepare")
        run_workload(OURS, args.venvs, "--database-url", f"sqlite:///{files['ours']}", "--prepare", *ours)
        for number in range(args.rounds):
            print(f"  older round {number + 1}/{args.rounds}", flush=True)
            runs = [
                (
                    "older",
                    lambda: run_workload(
                        OLDER,
                        args.venvs,
                        "--database-url",
                        f"sqlite:///{files['older']}",
                        "--workflows",
                        str(args.older_workflows),
                    ),
                ),
                (
                    "ours",
                    lambda: run_workload(
                        OURS,
                        args.venvs,
                        "--database-url",
                        f"sqlite:///{files['ours']}",
                        "--scenario",
                        "saving-steps",  # the older package's nodes call save(), as its docs ask
                        "--workflows",
                        str(args.older_workflows),
                        *ours,
                    ),
                ),
            ]
            for name, run in runs if number % 2 == 0 else runs[::-1]:
                figures = run()
                if name == "ours":  # nodes as the older counts them: ten Execute nodes and the End
                    figures["units"] = args.older_workflows * 11
                results.add(name, "older-harness", figures)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- reporting -------------------------------------------------------------------------------------


def median_range(values, fmt="{:,.0f}") -> str:
    if not values:
        return "-"
    text = fmt.format(statistics.median(values))
    return text if len(values) == 1 else f"{text} ({fmt.format(min(values))} .. {fmt.format(max(values))})"


def rates(rounds, key):
    if key == "per_second":
        return [r["units"] / r["seconds"] for r in rounds]
    if key == "per_cpu":
        return [r["units"] / r["cpu"] for r in rounds]
    if key == "statements":
        return [r["statements"] / r["units"] for r in rounds]
    return [r["commits"] / r["units"] for r in rounds]


def ratio(ours, theirs) -> str:
    if not ours or not theirs:
        return "-"
    return f"{statistics.median(ours) / statistics.median(theirs):.2f}x"


def verdict(ours, theirs, target: float) -> str:
    """``met`` or ``MISSED``: whether the ratio of the medians reaches ``target``."""
    if not ours or not theirs:
        return "not measured"
    return "met" if statistics.median(ours) / statistics.median(theirs) >= target else "MISSED"


def print_comparison(title, unit, rows, results, targets=None):
    """Print one workload's figures: ``rows`` are ``(label, side, scenario)``, ours first; every ratio
    is ours (the first row) over that row, from medians of the same run; ``targets`` by side name."""
    print(title)
    measured_rows = [(label, side, results.get(side, scenario)) for label, side, scenario in rows]
    ours = measured_rows[0][2]
    for heading, key, fmt in (
        (f"{unit}/s", "per_second", "{:,.0f}"),
        (f"{unit} per client CPU-second", "per_cpu", "{:,.0f}"),
        (f"SQL statements per {unit[:-1]}", "statements", "{:.2f}"),
        (f"commits per {unit[:-1]}", "commits", "{:.2f}"),
    ):
        print(f"  {heading}")
        for number, (label, side, rounds) in enumerate(measured_rows):
            if not rounds:
                print(f"    {label:<46} -  (not measured)")
                continue
            line = f"    {label:<46} {median_range(rates(rounds, key), fmt)}"
            if number and key in ("per_second", "per_cpu"):
                line += f"   ours / theirs: {ratio(rates(ours, key), rates(rounds, key))}"
                if targets and side in targets:
                    met = verdict(rates(ours, key), rates(rounds, key), targets[side])
                    line += f" (target >= {targets[side]:g}x: {met})"
            print(line)


def lateness_figures(rounds) -> dict:
    """Medians over the rounds of each round's p50, p99 and max lateness (ms)."""
    return {
        "p50": [percentile(r["lateness_ms"], 0.5) for r in rounds],
        "p99": [percentile(r["lateness_ms"], 0.99) for r in rounds],
        "max": [max(r["lateness_ms"]) for r in rounds],
    }


def print_sleeps(title, scenario, sides, results, target=False):
    print(f"{title}: lateness (median over rounds of each round's p50 / p99 / max)")
    measured_sides = {}
    for side in sides:
        rounds = results.get(side.name, scenario)
        if scenario not in side.scenarios:
            continue
        if not rounds:
            print(f"    {side.title:<30} -  (not measured)")
            continue
        figures = measured_sides[side.name] = lateness_figures(rounds)
        print(
            f"    {side.title:<30} p50 {median_range(figures['p50'])} ms, "
            f"p99 {median_range(figures['p99'])} ms, max {median_range(figures['max'])} ms"
        )
    ours, dbos = measured_sides.get("ours"), measured_sides.get("dbos")
    if target and ours and dbos:
        met = all(statistics.median(ours[key]) <= statistics.median(dbos[key]) for key in ("p50", "p99"))
        print(
            f"    ours / DBOS: p50 {ratio(ours['p50'], dbos['p50'])}, p99 {ratio(ours['p99'], dbos['p99'])}"
            f"   target ours <= DBOS at p50 and p99: {'met' if met else 'MISSED'}"
        )


def print_older(results, args):
    ours, older = results.get("ours", "older-harness"), results.get("older", "older-harness")
    print(
        f"Older implementation, same SQLite harness (SQLite defaults: rollback journal, synchronous=FULL), "
        f"{args.older_workflows} x (10 Execute + End) per round, each Execute node saving the instance's "
        "data on both sides:"
    )
    for title, rounds in (("Django Automations", ours), (OLDER.title, older)):
        print(
            f"    {title:<30} {median_range(rates(rounds, 'per_second'))} nodes/s, "
            f"{median_range(rates(rounds, 'per_cpu'))} nodes per CPU-second, "
            f"{median_range(rates(rounds, 'statements'), '{:.2f}')} statements per node"
        )
    per_second = (rates(ours, "per_second"), rates(older, "per_second"))
    print(
        f"    ours / older: {ratio(*per_second)} nodes/s "
        f"(target >= {TARGET_OLDER:g}x: {verdict(*per_second, TARGET_OLDER)}), "
        f"{ratio(rates(ours, 'per_cpu'), rates(older, 'per_cpu'))} per CPU-second"
    )


def print_peers(args, sides, results):
    names = {side.name: side.title for side in sides}
    peers = [side.name for side in sides if side.name != "ours"]
    print_comparison(
        f"{args.workflows} workflows of 10 steps, one after another; the like-for-like headline: each step "
        "saves the workflow's data (ours: TenSavingSteps, each node calls self.save(); DBOS: each step's "
        "output is checkpointed; Viewflow: each Function saves its process):",
        "steps",
        [("Django Automations (saving-steps)", "ours", "saving-steps")]
        + [(names[name], name, "steps") for name in peers],
        results,
        TARGETS,
    )
    print_comparison(
        "The same, our nodes saving nothing (TenSteps: each node changes self.data, no save() call; "
        "the peers as above):",
        "steps",
        [("Django Automations (steps)", "ours", "steps")] + [(names[name], name, "steps") for name in peers],
        results,
    )
    fan_rows = [("Django Automations (each branch saves)", "ours", "fanout")]
    if "dbos" in names:
        fan_rows.append((f"{names['dbos']} (asyncio.gather of 4 steps)", "dbos", "fanout"))
    if "viewflow" in names:
        fan_rows.append((names["viewflow"], "viewflow", "fanout"))
    if "dbos" in names:
        fan_rows.append((f"{names['dbos']} (4 child workflows)", "dbos", "fanout-children"))
    print_comparison(
        f"{args.fanout} workflows of a fan-out of 4 + join, one after another, each branch writing the "
        "workflow's data:",
        "workflows",
        fan_rows,
        results,
    )
    print_sleeps(f"{args.sleepers} sleeps of 1 s woken at once", "sleeps", sides, results)
    print_sleeps(
        f"{args.sleepers} sleeps of 1 s started one after another over {args.spread:g} s "
        "(earlier ones fall due while later ones start)",
        "staggered-sleeps",
        sides,
        results,
        target=True,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    import django

    peers = [PEERS[name] for name in args.peers]
    for side in peers:
        ensure_venv(side, args.venvs)
    if args.older:
        python = args.older_python or find_python(OLDER_PYTHON)
        if python is None:
            raise SystemExit(f"--older needs a Python {OLDER_PYTHON} (give --older-python)")
        ensure_venv(OLDER, args.venvs, python)
    print("Django Automations side by side")
    print(f"  machine   {cpu_model()} ({os.cpu_count()} CPUs)")
    print(f"  software  Python {sys.version.split()[0]}, Django {django.get_version()} (ours)")
    print(f"  load      {load_average()} at the start")
    print(f"  rounds    {args.rounds}, sides alternating; medians (and ranges) over the rounds")
    results = Results()
    sides = [OURS, *peers]
    if peers:
        server = Server(os.environ.get("DATABASE_URL"))
        print(f"  database  PostgreSQL {server.version()}, one database per side")
        print(
            "  counted   statements: every execute()/executemany() on the driver's cursors, in the workload;"
        )
        print(
            "            commits: pg_stat_database.xact_commit of the side's database, over its whole process"
        )
        print()
        try:
            peer_rounds(args, server, sides, results)
        finally:
            server.close()
    if args.older:
        older_rounds(args, results)
    print()
    if peers:
        print_peers(args, sides, results)
    if args.older:
        print_older(results, args)
    for failure in results.failures:
        print(f"FAILED run, left out: {failure}")
    print(f"load {load_average()} at the end")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
