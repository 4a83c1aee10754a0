"""Many instances due at once, in embedded mode: how late are they woken, and do requests wait?

    .venv/bin/python bench/wake_batch.py                     # SQLite file
    .venv/bin/python bench/wake_batch.py --postgres          # PostgreSQL from DATABASE_URL

``--instances`` ``Napper`` instances (default 200) are started in place and made due at the same
moment, a second ahead; then a :class:`Scheduler` runs on this process's event loop, as in
``manage.py automation_server``, with an in-memory layer. Each napper's node notes how late it ran
after that moment. Meanwhile a request-like probe asks the database for one row every 20 ms through
``database_sync_to_async`` (the thread the server's views use too) and is timed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

TARGET_P99 = 0.050
PROBE_EVERY = 0.020


def parse_args(argv=None) -> argparse.Namespace:
    from bench.measure import add_database_options

    parser = argparse.ArgumentParser(description="Lateness of many instances woken at once, embedded.")
    add_database_options(parser, "atm_bench_wake")
    parser.add_argument("--instances", type=int, default=200, help="instances due at once (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    return parser.parse_args(argv)


def _due_at_once(count, delay):
    """Start ``count`` nappers and make them all due ``delay`` from now; return their ids and that moment."""
    from django.utils import timezone

    from automations.models import AutomationModel, AutomationTaskModel
    from bench.automations import NAP, Napper

    ids = [Napper().id for _ in range(count)]
    moment = timezone.now() + delay
    AutomationTaskModel.objects.filter(automation_id__in=ids, status="nap", finished=None).update(
        created=moment - NAP
    )
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=moment)
    return ids, moment


def _probe(automation_id):
    from automations.models import AutomationModel

    return AutomationModel.objects.filter(pk=automation_id).values_list("wake_at", flat=True).first()


async def _one_run(count):
    from channels.db import database_sync_to_async

    from bench.latency import _lateness, _until_finished, in_process_scheduler

    ids, _ = await database_sync_to_async(_due_at_once)(count, timedelta(seconds=1))
    probes = []
    done = asyncio.Event()

    async def probe():
        while not done.is_set():
            began = time.perf_counter()
            await database_sync_to_async(_probe)(ids[0])
            probes.append(time.perf_counter() - began)
            await asyncio.sleep(PROBE_EVERY)

    async with in_process_scheduler():
        prober = asyncio.ensure_future(probe())
        await _until_finished(ids, timeout=60)
        done.set()
        await prober
    lateness = await database_sync_to_async(_lateness)(ids)
    return lateness, probes


def _ms(seconds):
    return f"{seconds * 1000:7.1f} ms"


def benchmark(args, database) -> int:
    from django.db import connection

    from bench.measure import load_average, machine, percentile, print_about

    about = machine(connection)
    print_about("Django Automations: many instances woken at once, embedded scheduler", about)
    print(f"  load      {about['load']} at the start")
    print(f"  {args.instances} nappers due at the same moment, {args.runs} runs")
    all_late, all_probes = [], []
    for run in range(args.runs):
        lateness, probes = asyncio.run(_one_run(args.instances))
        all_late += lateness
        all_probes += probes
        late = f"min {_ms(min(lateness))}, p50 {_ms(percentile(lateness, 0.5))}"
        late += f", p99 {_ms(percentile(lateness, 0.99))}"
        print(f"  run {run + 1}: lateness {late}, max {_ms(max(lateness))}; "
              f"request probe p99 {_ms(percentile(probes, 0.99))}")  # fmt: skip
    p99 = percentile(all_late, 0.99)
    verdict = "met" if p99 <= TARGET_P99 else "MISSED"
    print(f"  lateness, all runs        p50 {_ms(percentile(all_late, 0.5))}  p99 {_ms(p99)}  "
          f"max {_ms(max(all_late))}  target p99 <= {TARGET_P99 * 1000:g} ms: {verdict}")  # fmt: skip
    print(
        f"  request probe, all runs   p50 {_ms(percentile(all_probes, 0.5))}  "
        f"p99 {_ms(percentile(all_probes, 0.99))}  max {_ms(max(all_probes))}  ({len(all_probes)} probes)"
    )
    print(f"load {load_average()} at the end")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark)


if __name__ == "__main__":
    sys.exit(main())
