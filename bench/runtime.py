"""Benchmark the runtime: event latency, timer lateness, and scaled-out worker throughput.

    .venv/bin/python bench/runtime.py                        # in-memory layer, SQLite file
    .venv/bin/python bench/runtime.py --postgres --redis     # plus Redis and automation_worker processes

Like ``bench/run.py`` it creates a database of its own and drops it at the end. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

TARGET_IN_MEMORY_P99 = 0.005
TARGET_REDIS_P99 = 0.020
TARGET_LATENESS_P99 = 0.100
TARGET_SCALE_OUT = 1.6


def parse_args(argv=None) -> argparse.Namespace:
    from bench.measure import add_database_options

    parser = argparse.ArgumentParser(description="Benchmark the Django Automations runtime.")
    add_database_options(parser, "atm_bench_runtime")
    parser.add_argument(
        "--redis", action="store_true",
        help="also measure through Redis (REDIS_URL, default redis://127.0.0.1:6379/0) and automation_worker "
        "processes; needs --postgres",
    )  # fmt: skip
    parser.add_argument("--samples", type=int, default=300, help="events timed per layer (default 300)")
    parser.add_argument("--nappers", type=int, default=200, help="timers timed per layer (default 200)")
    parser.add_argument(
        "--instances", type=int, default=300, help="instances per throughput run (default 300)"
    )
    parser.add_argument("--runs", type=int, default=3, help="throughput runs per setup (default 3)")
    args = parser.parse_args(argv)
    if args.redis and not args.postgres:
        parser.error("--redis needs --postgres: several worker processes share the database")
    args.redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return args


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_percentiles(title, values, target):
    from bench.measure import percentile

    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    print(
        f"  {title:<44} p50 {_ms(p50):>9}  p99 {_ms(p99):>9}  max {_ms(max(values)):>9}  "
        f"({len(values)} samples)"
        + (f"  target p99 < {_ms(target)}: {_verdict(p99 < target)}" if target is not None else "")
    )


def print_throughput(title, rates, duplicated, base=None):
    spread = f"median of {len(rates)}, {rates.low:,.0f} .. {rates.high:,.0f}"
    line = f"  {title:<30} {rates.median:>7,.0f} nodes/s  ({spread})  duplicated nodes: {duplicated}"
    if base is not None:
        ratio = rates.median / base.median
        verdict = _verdict(ratio >= TARGET_SCALE_OUT)
        line += f"  {ratio:.2f}x one worker, target >= {TARGET_SCALE_OUT}x: {verdict}"
    print(line)


def benchmark(args, database) -> int:
    from django.db import connection

    from bench import latency, scale_out
    from bench.measure import load_average, machine, print_about
    from bench.workers import Workers

    about = machine(connection)
    print_about("Django Automations runtime benchmark", about)
    print(f"  layers    in-memory{', Redis ' + args.redis_url if args.redis else ''}")
    print(f"  load      {about['load']} at the start (other processes make every figure slower)")
    print()
    print("Event -> step committed (automation.wake starting a one-node instance, one at a time):")
    samples, steps = latency.in_memory(args.samples)
    print_percentiles("in-memory layer, scheduler in this process", samples, TARGET_IN_MEMORY_P99)
    print_percentiles("  of which the step (the engine)", steps, None)
    overhead = [total - step for total, step in zip(samples, steps, strict=True)]
    print_percentiles("  of which layer, scheduler, thread hop", overhead, None)
    redis_channel = f"automations.bench-{uuid.uuid4().hex[:8]}"
    if args.redis:
        listener = latency.CommitListener(connection.settings_dict)
        try:
            with Workers([redis_channel], database=database, redis_url=args.redis_url):
                samples = latency.redis(args.samples, listener=listener, channel=redis_channel)
        finally:
            listener.close()
        print_percentiles("Redis, one automation_worker process", samples, TARGET_REDIS_P99)
    print()
    print(f"Timer lateness (due -> node ran; {args.nappers} instances waiting 200 ms, started 50 ms apart):")
    lateness = latency.timer_lateness_in_memory(args.nappers)
    print_percentiles("in-memory layer, scheduler in this process", lateness, TARGET_LATENESS_P99)
    if args.redis:
        with Workers([redis_channel], database=database, redis_url=args.redis_url):
            samples = latency.timer_lateness_redis(args.nappers, channel=redis_channel)
        print_percentiles("Redis, one automation_worker process", samples, TARGET_LATENESS_P99)
        print()
        print(f"Throughput on Redis + PostgreSQL ({args.instances} TenSteps instances per run, "
              f"{args.instances * scale_out.NODES} nodes, {args.runs} runs each):")  # fmt: skip
        common = {"instances": args.instances, "runs": args.runs, "database": database,
                  "redis_url": args.redis_url}  # fmt: skip
        one, duplicated = scale_out.measure(workers=1, sharded=False, **common)
        print_throughput("1 worker", one, duplicated)
        shared, duplicated = scale_out.measure(workers=2, sharded=False, **common)
        print_throughput("2 workers, one shared channel", shared, duplicated, base=one)
        sharded, duplicated = scale_out.measure(workers=2, sharded=True, **common)
        print_throughput("2 workers, sharded channels", sharded, duplicated, base=one)
    print()
    print(f"load {load_average()} at the end")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark)


if __name__ == "__main__":
    sys.exit(main())
