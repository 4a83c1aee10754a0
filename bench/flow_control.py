"""Flow control across worker processes: how close do limited calls come to the limit's ideal pace?

    .venv/bin/python bench/flow_control.py                 # PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)
    .venv/bin/python bench/flow_control.py --instances 120 --workers 2 --runs 3

``--instances`` instances (default 60) of ``--customers`` customers (default 3) each make one call
of ``--call-seconds`` (default 0.2; it sleeps) that at most three instances per customer may make
at once, run by ``--workers`` ``automation_worker`` processes (default 4) on one Redis channel. Two
variants: ``LimitedCall`` (the node's ``.Concurrency(3, key="customer")``) and ``LimitedInstance``
(``Meta.concurrency = 3`` with ``concurrency_key = "customer"``). The instances are created
without running, made due, and woken all at once by one ``automation.wake`` event each.

Each call notes when it began and ended. Printed per variant and run: the time until every
instance finished, the ideal time (calls x call time / (3 per customer x customers), which needs
that many calls at once), the peak and mean number of calls running at once per customer, the
most at once for any customer (checked: never more than 3), and the hand-over: from a call's end
(its slot about to free) to the start of the call that took the slot (p50, p99). See
bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

LIMIT = 3  # calls per customer at once, in both variants (bench/automations.py)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Limited calls run by several automation_worker processes.")
    parser.add_argument(
        "--database-name",
        default="atm_bench_flow_control",
        help="its PostgreSQL database, created and dropped",
    )
    parser.add_argument("--instances", type=int, default=60, help="instances per run (default 60)")
    parser.add_argument("--customers", type=int, default=3, help="customers they are spread over (default 3)")
    parser.add_argument("--workers", type=int, default=4, help="automation_worker processes (default 4)")
    parser.add_argument("--call-seconds", type=float, default=0.2, help="how long a call takes (default 0.2)")
    parser.add_argument("--runs", type=int, default=1, help="runs per variant (default 1)")
    parser.add_argument(
        "--variant", choices=("node", "class", "both"), default="both",
        help="node: .Concurrency(); class: Meta.concurrency; both (default)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.instances < 1 or args.customers < 1 or args.workers < 1 or args.call_seconds <= 0:
        parser.error("give at least one instance, customer and worker, and a positive call time")
    args.redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return args


def configure(args, directory: Path) -> dict:
    from bench import settings as bench_settings

    return bench_settings.configure(postgres=True, database_name=args.database_name, directory=directory,
                                    redis_url=args.redis_url)  # fmt: skip


def run_once(cls, args, channel: str) -> tuple[float, list[tuple[str, float, float]]]:
    """Run ``args.instances`` instances of ``cls``; return the seconds and ``[(customer, began, ended)]``."""
    from django.utils import timezone

    from automations.models import AutomationModel, FlowTicket
    from bench.measure import CheckFailed
    from bench.scale_out import _publish, _wait_until_finished

    customers = [f"customer-{k}" for k in range(args.customers)]
    ids = [
        cls(autorun=False, customer=customers[n % args.customers], seconds=args.call_seconds).id
        for n in range(args.instances)
    ]
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=timezone.now())
    began = time.perf_counter()
    _publish(ids, lambda _: channel)
    _wait_until_finished(ids, timeout=max(120, 10 * args.instances * args.call_seconds))
    seconds = time.perf_counter() - began
    instances = AutomationModel.objects.filter(pk__in=ids)
    if instances.exclude(status="finished").exists():
        raise CheckFailed(f"{cls.__name__}: not every instance finished well")
    settled = time.monotonic() + 5  # a finished instance's ticket is released just after its step commits
    while FlowTicket.objects.filter(automation_id__in=ids, released=None).exists():
        if time.monotonic() > settled:
            raise CheckFailed(f"{cls.__name__}: tickets were left unreleased")
        time.sleep(0.01)
    calls = [
        (data["customer"], data["began"], data["ended"]) for data in instances.values_list("data", flat=True)
    ]
    return seconds, calls


def at_once(calls: list[tuple[float, float]]) -> tuple[int, float]:
    """Return the peak and the time-weighted mean of how many of ``[(began, ended)]`` ran at once.

    The mean is taken from the first start to the last end.
    """
    moments = sorted([(began, 1) for began, _ in calls] + [(ended, -1) for _, ended in calls])
    running = peak = 0
    weighted, last = 0.0, moments[0][0]
    for moment, change in moments:
        weighted += running * (moment - last)
        last = moment
        running += change
        peak = max(peak, running)
    span = moments[-1][0] - moments[0][0]
    return peak, weighted / span if span > 0 else float(peak)


def hand_overs(calls: list[tuple[float, float]], limit: int) -> list[float]:
    """Return, for each call that had to wait for a slot, the seconds from the slot's freeing to its start.

    With at most ``limit`` at once, the ``i``-th call to start (``i >= limit``) can start only once
    ``i - limit + 1`` calls ended: its slot is the one freed by the ``(i - limit + 1)``-th end.
    """
    starts = sorted(began for began, _ in calls)
    ends = sorted(ended for _, ended in calls)
    return [starts[i] - ends[i - limit] for i in range(limit, len(starts))]


def report(label: str, args, seconds: float, calls) -> int:
    """Print one run's figures; return the most calls of one customer at once."""
    from bench.measure import percentile

    ideal = len(calls) * args.call_seconds / (LIMIT * args.customers)
    by_customer: dict[str, list[tuple[float, float]]] = {}
    for customer, began, ended in calls:
        by_customer.setdefault(customer, []).append((began, ended))
    figures = {customer: at_once(spans) for customer, spans in sorted(by_customer.items())}
    waits = [wait for spans in by_customer.values() for wait in hand_overs(spans, LIMIT)]
    most = max(peak for peak, _ in figures.values())
    each = ", ".join(f"{peak} / {mean:.2f}" for peak, mean in figures.values())
    print(f"  {label}")
    print(f"    time        {seconds:.2f} s, ideal {ideal:.2f} s ({seconds / ideal:.2f}x the ideal)")
    print(f"    at once     per customer peak / mean: {each}; most {most} (limit {LIMIT})")
    if waits:
        print(f"    hand-over   slot freed -> next call began: p50 {percentile(waits, 0.5) * 1000:.0f} ms, "
              f"p99 {percentile(waits, 0.99) * 1000:.0f} ms ({len(waits)} calls)")  # fmt: skip
    return most


def benchmark(args, database) -> int:
    from django.db import connection

    from bench.automations import LimitedCall, LimitedInstance
    from bench.measure import CheckFailed, load_average, machine, print_about
    from bench.workers import Workers

    about = machine(connection)
    print_about("Django Automations: flow control across automation_worker processes", about)
    print(f"  load      {about['load']} at the start")
    print(f"  {args.instances} instances of {args.customers} customers, one call of {args.call_seconds:g} s "
          f"each, at most {LIMIT} per customer at once")  # fmt: skip
    print(f"  {args.workers} automation_worker processes on Redis {args.redis_url}, one channel")
    variants = [("node .Concurrency(3, key='customer')", LimitedCall),
                ("class Meta.concurrency = 3, concurrency_key", LimitedInstance)]  # fmt: skip
    if args.variant != "both":
        variants = variants[:1] if args.variant == "node" else variants[1:]
    channel = f"automations.bench-{uuid.uuid4().hex[:8]}"
    with Workers([channel] * args.workers, database=database, redis_url=args.redis_url):
        for label, cls in variants:
            for run in range(args.runs):
                seconds, calls = run_once(cls, args, channel)
                most = report(f"{label}, run {run + 1}", args, seconds, calls)
                if most > LIMIT:
                    raise CheckFailed(f"{cls.__name__}: {most} calls of one customer at once, limit {LIMIT}")
    print(f"load {load_average()} at the end")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark, configure=configure)


if __name__ == "__main__":
    sys.exit(main())
