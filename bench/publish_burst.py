"""Confirmed publishing under a burst: N confirmed ``automation.start`` events from one process.

    .venv/bin/python bench/publish_burst.py [--starts 10000] [--in-flight 200] [--workers 4] [--runs 1]
    .venv/bin/python bench/publish_burst.py --quick      # 200 starts, 20 in flight, 1 worker: a smoke run

On PostgreSQL (``DATABASE_URL``'s server, database ``atm_bench_publish``, created and dropped) and a
``redis-server`` of the benchmark's own on a free port, ``--workers`` ``automation_worker`` processes
run; this process publishes ``--starts`` ``automation.start`` events of ``EndOnly`` with
``apublish(confirm=True)``, ``--in-flight`` of them at a time, as one busy service would. Printed per
run: the rate of confirmed publishes, their p50 / p99 confirm time, the events re-sent (sends to the
workers' channel beyond one per start) and refused (``ChannelFull``), the receipts received (beyond
one per start: duplicates), and the receipts the workers dropped (their log lines "Receipt ... not
sent"). After each burst it waits until every start is applied and checks that each created
exactly one instance. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

TARGET_RATE = 140.0  # confirmed publishes per second
DROPPED = "not sent ("  # what a worker logs when it gives a receipt up


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Confirmed publishing of a burst from one process.")
    parser.add_argument("--starts", type=int, default=10_000, help="confirmed starts per run (default 10000)")
    parser.add_argument("--in-flight", type=int, default=200, help="publishes awaited at once (default 200)")
    parser.add_argument("--workers", type=int, default=4, help="automation_worker processes, 1-4 (default 4)")
    parser.add_argument("--runs", type=int, default=1, help="bursts, one after another (default 1)")
    parser.add_argument(
        "--confirm-timeout", type=float, default=120.0, help="timeout of each confirmed publish (default 120)"
    )
    parser.add_argument(
        "--drain", type=float, default=600.0,
        help="seconds to wait after each burst until every start is applied, then checked (default 600; "
        "0: neither wait nor check)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 200 starts, 20 in flight, 1 worker"
    )
    parser.add_argument(
        "--database-name", default="atm_bench_publish",
        help="its PostgreSQL database, created and dropped (default atm_bench_publish)",
    )  # fmt: skip
    parser.add_argument("--keep-logs", metavar="DIR", help="keep the workers' and Redis's logs in DIR")
    args = parser.parse_args(argv)
    if args.quick:
        args.starts, args.in_flight, args.workers, args.runs = 200, 20, 1, 1
    if args.starts < 1 or args.in_flight < 1 or not 1 <= args.workers <= 4 or args.runs < 1:
        parser.error("give at least 1 start, 1 in flight, 1 run and 1 to 4 workers")
    if not shutil.which("redis-server"):
        parser.error("redis-server is not on PATH")
    return args


def configure(args, redis_url) -> dict:
    """Configure Django: PostgreSQL, and this process's Redis layer counting what it sends."""
    from bench import settings as bench_settings

    return bench_settings.configure(
        postgres=True,
        database_name=args.database_name,
        directory=None,
        redis_url=redis_url,
        layer_backend="bench.counting_layer.CountingRedisLayer",
    )


async def burst(args, run: str) -> tuple[float, list[float], int]:
    """Publish the starts, ``args.in_flight`` at a time; return (seconds, confirm times, failures)."""
    from automations import events
    from bench.automations import EndOnly

    path = EndOnly.get_automation_class_name()
    numbers = iter(range(args.starts))
    times: list[float] = []
    failures = 0

    async def publisher():
        nonlocal failures
        for n in numbers:
            event = {"type": events.START, "automation_class": path, "data": {"run": run, "n": n},
                     "id": f"{run}-{n}"}  # fmt: skip
            sent = time.perf_counter()
            try:
                await events.apublish(event, confirm=True, timeout=args.confirm_timeout)
            except Exception as exc:
                failures += 1
                print(f"    start {n} failed: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
                continue
            times.append(time.perf_counter() - sent)

    began = time.perf_counter()
    await asyncio.gather(*(publisher() for _ in range(args.in_flight)))
    return time.perf_counter() - began, times, failures


def applied(run: str, expected: int, timeout: float = 600) -> tuple[float, int, int]:
    """Wait until the run's starts are applied; return (seconds waited, instances, distinct starts)."""
    from automations.models import AutomationModel, InboxEvent

    began = time.perf_counter()
    ours = AutomationModel.objects.filter(data__run=run)
    while time.perf_counter() - began < timeout:
        pending = InboxEvent.objects.filter(pk__startswith=f"{run}-", handled=None).exists()
        if not pending and ours.count() >= expected:
            break
        time.sleep(0.2)
    return time.perf_counter() - began, ours.count(), ours.values("data__n").distinct().count()


def dropped_receipts(log_dir: Path) -> int:
    """Count the workers' log lines about receipts given up."""
    return sum(
        line.count(DROPPED) for path in log_dir.glob("burst-worker-*.log")
        for line in path.read_text(errors="replace").splitlines() if "Receipt for event" in line
    )  # fmt: skip


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def benchmark(args, database, redis, log_dir) -> int:
    from django.db import connection

    from automations import settings as atm_settings
    from bench.counting_layer import counts, first_sent, round_trips
    from bench.measure import Series, load_average, machine, percentile, print_about
    from bench.reliability import WorkerPool

    about = machine(connection)
    print_about("Django Automations: confirmed publishing of a burst from one process", about)
    print(f"  redis     {redis.url} (its own redis-server), capacity {_capacity()}")
    in_flight = "ATM_PUBLISH_IN_FLIGHT" in atm_settings.DEFAULTS and atm_settings.get("ATM_PUBLISH_IN_FLIGHT")
    cap = f", ATM_PUBLISH_IN_FLIGHT {in_flight}" if in_flight else ""
    print(f"  workload  {args.starts:,} confirmed automation.start events, {args.in_flight} in flight{cap}, "
          f"{args.workers} automation_worker process(es)")  # fmt: skip
    print(f"  load      {about['load']} at the start")
    pool = WorkerPool(database=database, redis_url=redis.url, log_dir=log_dir, name="burst-worker")
    pool.start(args.workers)
    rates, correct = Series(), True
    try:
        for number in range(1, args.runs + 1):
            run = uuid.uuid4().hex[:8]
            counts.clear()
            round_trips.clear()
            first_sent.clear()
            dropped_before = dropped_receipts(log_dir)
            seconds, times, failures = asyncio.run(burst(args, run))
            rate = len(times) / seconds
            times = times or [0.0]
            rates.add(rate)
            resent = counts["sent to worker"] + counts["worker channel full"] - args.starts
            print(f"Run {number} (load {load_average()}):")
            print(f"  {'confirmed':<34} {len(times):>7,} in {seconds:.1f} s: {rate:,.0f}/s, "
                  f"p50 {_ms(percentile(times, 0.5))}, p99 {_ms(percentile(times, 0.99))}, "
                  f"max {_ms(max(times, default=0))}")  # fmt: skip
            trips = round_trips or [0.0]
            print(f"  {'first send -> receipt':<34} {len(round_trips):>7,}  "
                  f"p50 {_ms(percentile(trips, 0.5))}, p99 {_ms(percentile(trips, 0.99))}")  # fmt: skip
            print(f"  {'not confirmed (raised)':<34} {failures:>7,}")
            print(f"  {'re-sent':<34} {resent:>7,}  (refused by a full worker channel: "
                  f"{counts['worker channel full']:,})")  # fmt: skip
            print(f"  {'receipts received':<34} {counts['receipts received']:>7,}")
            dropped = dropped_receipts(log_dir) - dropped_before
            print(f"  {'receipts dropped by the workers':<34} {dropped:>7,}", flush=True)
            correct = correct and not failures
            if args.drain <= 0:
                print(f"  {'applied':<34} not waited for (--drain 0)", flush=True)
                continue
            waited, instances, distinct = applied(run, args.starts, args.drain)
            print(f"  {'applied':<34} {instances:>7,} instances ({distinct:,} distinct starts), "
                  f"{waited:.1f} s after the burst (load {load_average()})", flush=True)  # fmt: skip
            correct = correct and instances == distinct == args.starts
    finally:
        pool.stop()
    if len(rates) > 1:
        print(
            f"Confirmed publishes per second: median {rates.median:,.0f} "
            f"({rates.low:,.0f} .. {rates.high:,.0f})"
        )
    verdict = "met" if rates.median >= TARGET_RATE else "MISSED"
    print(f"  target >= {TARGET_RATE:g}/s with no receipt dropped: {verdict} (rate), see the counts above")
    print(f"load {load_average()} at the end")
    if not correct:
        print("Check failed: a start was not confirmed, or not applied exactly once.", file=sys.stderr)
    return 0 if correct else 1


def _capacity() -> str:
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    return f"{config.get('capacity', 100)}, channel_capacity {config.get('channel_capacity', {})}"


def main(argv=None) -> int:
    from bench.measure import throwaway_database
    from bench.reliability import RedisServer, free_port

    args = parse_args(argv)
    log_dir = Path(args.keep_logs) if args.keep_logs else Path(tempfile.mkdtemp(prefix="atm-publish-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    redis = RedisServer(free_port(), log_dir)
    status = 1
    try:
        redis.start()
        with throwaway_database(lambda directory: configure(args, redis.url)) as database:
            status = benchmark(args, database, redis, log_dir)
    finally:
        redis.stop()
        if status == 0 and not args.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"Logs of the workers and Redis: {log_dir}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
