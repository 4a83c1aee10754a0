"""Run the benchmarks of Django Automations and print their figures.

    make bench                                  # SQLite file database in a temporary directory
    .venv/bin/python bench/run.py --postgres    # PostgreSQL from DATABASE_URL, database atm_bench
    .venv/bin/python bench/run.py --peers ...   # bench/peers.py: side by side with DBOS and Viewflow
    .venv/bin/python bench/run.py --embedded ...  # bench/embedded.py: wake-ups in embedded mode

See bench/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

SCENARIOS = ("throughput", "idle", "blocked")


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 10:
        raise argparse.ArgumentTypeError("give sizes of at least 10, e.g. 1000,10000,100000")
    return sizes


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the Django Automations engine.",
        epilog="As the first argument, --peers runs bench/peers.py (side by side with DBOS Transact, "
        "Viewflow and the older implementation) and --embedded runs bench/embedded.py (wake-ups in "
        "embedded mode), each with its own options (--peers --help).",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run on PostgreSQL: the server of DATABASE_URL (default postgres://postgres@127.0.0.1:5432), "
        "in a database of the benchmark's own that is created and dropped",
    )
    parser.add_argument(
        "--database-name",
        default="atm_bench",
        help="name of that PostgreSQL database (default atm_bench); an existing one is dropped",
    )
    parser.add_argument(
        "--only", choices=SCENARIOS, action="append", help="run only this scenario (repeatable)"
    )
    parser.add_argument("--runs", type=int, default=5, help="throughput runs (default 5)")
    parser.add_argument(
        "--instances", type=int, default=200, help="instances per throughput run (default 200)"
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1000, 10_000, 100_000],
        help="sleeping populations (default 1000,10000,100000)",
    )
    parser.add_argument(
        "--repeats", type=int, default=100, help="timed idle and blocked sweeps (default 100)"
    )
    parser.add_argument(
        "--blocked", type=int, default=1000, help="instances blocked on AsSoonAs (default 1000)"
    )
    parser.add_argument("--recheck-runs", type=int, default=3, help="timed re-check sweeps (default 3)")
    parser.add_argument(
        "--profile",
        choices=("throughput", "recheck"),
        help="print a cProfile of one throughput run, or of one re-check sweep over the blocked instances, "
        "instead of the benchmark",
    )
    return parser.parse_args(argv)


def configure(args, directory: Path) -> None:
    """Configure Django with the benchmark's settings and its own database."""
    import django
    from django.conf import settings

    from bench import settings as bench_settings

    if args.postgres:
        database = bench_settings.postgres_database(os.environ.get("DATABASE_URL"), args.database_name)
    else:
        database = bench_settings.sqlite_database(directory / "bench.sqlite3")
    settings.configure(**bench_settings.build(database))
    django.setup()


def profile(args) -> None:
    import cProfile
    import pstats
    from datetime import timedelta

    from automations import settings as atm_settings
    from automations.models import AutomationModel
    from bench.automations import Blocked, TenSteps
    from bench.measure import clock_shifted

    profiler = cProfile.Profile()
    if args.profile == "throughput":
        profiler.runcall(lambda: [TenSteps() for _ in range(args.instances)])
    else:
        for _ in range(args.blocked):
            Blocked()
        with clock_shifted(atm_settings.condition_recheck_interval() + timedelta(seconds=1)):
            profiler.runcall(AutomationModel.run)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def benchmark(args) -> None:
    from django.db import connection

    from bench import blocked, idle, report, throughput
    from bench.measure import load_average, machine

    only = args.only or SCENARIOS
    report.print_header(machine(connection), args)
    if "throughput" in only:
        report.print_throughput(throughput.measure(instances=args.instances, runs=args.runs))
    if "idle" in only:
        report.print_idle(idle.measure(sizes=args.sizes, repeats=args.repeats))
    if "blocked" in only:
        result = blocked.measure(
            instances=args.blocked, repeats=args.repeats, recheck_repeats=args.recheck_runs
        )
        report.print_blocked(result)
    report.print_footer(load_average())


COMMANDS = {"--peers": "bench.peers", "--embedded": "bench.embedded"}


def main(argv=None) -> int:
    from bench.measure import CheckFailed, throwaway_database

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:  # another benchmark command, with its own options
        import importlib

        return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    args = parse_args(argv)
    try:
        with throwaway_database(lambda directory: configure(args, directory)):
            profile(args) if args.profile else benchmark(args)
    except CheckFailed as exc:
        print(f"Benchmark check failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
