"""Fan-out: one ``ForEach`` instance with 10,000 paths joined, all at once and 100 at a time.

    .venv/bin/python bench/fanout.py                      # SQLite file
    .venv/bin/python bench/fanout.py --postgres           # PostgreSQL from DATABASE_URL
    .venv/bin/python bench/fanout.py --items 1000 --runs 1

An instance of ``FanOutItems`` (no limit) and one of ``FanOutLimited`` (``.Limit(100)``) each get
``--items`` numbers; every path squares its item in an ``Execute`` and the ``Join`` collects the
squares in order. The instance is stepped through the engine (``engine.advance``, as a worker or
``automation_step`` would) until it finishes. Printed per variant: the time (median and range of
``--runs``) and the CPU time of this process, the steps it took (``ATM_STEP_NODE_LIMIT`` visits
each), the SQL statements per path, and the peak of Python memory allocated while it ran
(``tracemalloc``, one extra run). Each run checks that the squares are all there, in order. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()


def parse_args(argv=None) -> argparse.Namespace:
    from bench.measure import add_database_options

    parser = argparse.ArgumentParser(description="One ForEach instance with many paths, joined.")
    add_database_options(parser, "atm_bench_fanout")
    parser.add_argument("--items", type=int, default=10_000, help="items, i.e. paths, per instance (10000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per variant (3)")
    return parser.parse_args(argv)


def run_once(cls, items: int) -> tuple[float, float, int]:
    """Run one instance of ``cls`` over ``items`` numbers to its end: ``(seconds, CPU seconds, steps)``."""
    from automations import engine
    from automations.models import AutomationModel
    from bench.measure import CheckFailed

    automation = cls(autorun=False, items=list(range(items)))
    start, cpu, steps = time.perf_counter(), time.process_time(), 0
    while True:
        steps += 1
        if engine.advance(automation.id).finished:
            break
        if steps > items + 10:
            raise CheckFailed(f"{cls.__name__} did not finish in {steps} steps.")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    row = AutomationModel.objects.get(pk=automation.id)
    if row.status != "finished" or row.data.get("squares") != [n * n for n in range(items)]:
        raise CheckFailed(f"{cls.__name__}: the squares are missing or out of order.")
    return seconds, cpu, steps


def measure(cls, args) -> dict:
    from django.db import connection

    from bench.measure import Series, count_queries

    times, cpu_times = Series(), Series()
    (seconds, cpu, steps), counter = count_queries(connection, lambda: run_once(cls, args.items))
    times.add(seconds)
    cpu_times.add(cpu)
    for _ in range(args.runs - 1):
        seconds, cpu, _steps = run_once(cls, args.items)
        times.add(seconds)
        cpu_times.add(cpu)
    tracemalloc.start()
    run_once(cls, args.items)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"times": times, "cpu": cpu_times, "steps": steps, "statements": counter.total,
            "kinds": counter.kinds, "peak": peak}  # fmt: skip


def benchmark(args, database) -> int:
    from django.db import connection

    from automations import settings as atm_settings
    from bench.automations import FanOutItems, FanOutLimited
    from bench.measure import load_average, machine, print_about

    about = machine(connection)
    print_about("Django Automations: fan-out (ForEach) joined", about)
    print(f"  load      {about['load']} at the start")
    limit = atm_settings.get("ATM_STEP_NODE_LIMIT")
    print(f"{args.items:,} paths per instance, {args.runs} run(s) each; {limit} node visits per step")
    for label, cls in (("all at once", FanOutItems), ("Limit(100)", FanOutLimited)):
        result = measure(cls, args)
        times = result["times"]
        per_path = result["statements"] / max(args.items, 1)
        kinds = ", ".join(f"{kind} {count}" for kind, count in result["kinds"].most_common(4))
        print(f"{label}:")
        print(f"  time        median {times.median:.2f} s ({times.low:.2f} .. {times.high:.2f}), "
              f"{args.items / times.median:,.0f} paths/s, {result['steps']} steps")  # fmt: skip
        print(f"  CPU         median {result['cpu'].median:.2f} s of this process "
              f"({args.items / result['cpu'].median:,.0f} paths per CPU-second)")  # fmt: skip
        print(f"  statements  {result['statements']:,} in all, {per_path:.2f} per path ({kinds})")
        print(f"  memory      peak {result['peak'] / 2**20:.1f} MiB allocated by Python while it ran")
    print(f"load {load_average()} at the end")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark)


if __name__ == "__main__":
    sys.exit(main())
