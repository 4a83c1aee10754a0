"""Many instances retrying a failing call with backoff: no thread held, no lateness for other timers.

    .venv/bin/python bench/retries.py                     # SQLite file
    .venv/bin/python bench/retries.py --postgres          # PostgreSQL from DATABASE_URL

A :class:`Scheduler` runs on this process's event loop (as in ``manage.py automation_server``),
with an in-memory layer. First ``--alarms`` ``Alarm`` instances (default 200) are woken and ring
one by one over the next 5 seconds, alone. Then ``--instances`` ``FlakyCall`` instances (default
1,000), all due at the same moment, call a service that fails until their last of 3 attempts;
the pauses are exponential with jitter (between half and all of ``--pause`` seconds, default 30,
then 1.5 times that). Once every first attempt has failed, the same alarms ring again, while the
1,000 wait for their next attempt.

Printed: how late the alarms rang, alone and among the waiting retries; how long the burst of
first attempts took and how late the later attempts ran after their time; the calls made (each
instance exactly 3: none lost, none repeated); and the process's threads, sampled every 50 ms.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

ALARM_SPREAD = 5.0  # seconds over which the alarms ring


def parse_args(argv=None) -> argparse.Namespace:
    from bench.measure import add_database_options

    parser = argparse.ArgumentParser(
        description="Instances retrying with backoff, and other timers meanwhile."
    )
    add_database_options(parser, "atm_bench_retries")
    parser.add_argument("--instances", type=int, default=1000, help="instances retrying (default 1000)")
    parser.add_argument("--alarms", type=int, default=200, help="other timers watched (default 200)")
    parser.add_argument("--pause", type=float, default=30.0, help="seconds of the first pause (default 30)")
    return parser.parse_args(argv)


def _alarms(count: int) -> list[int]:
    """Create ``count`` alarms, not due: each rings ``delay`` seconds after it is woken."""
    from automations.models import AutomationModel
    from bench.retry_automations import Alarm

    ids = [Alarm(autorun=False, delay=ALARM_SPREAD * (n + 1) / count).id for n in range(count)]
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=None)
    return ids


def _flaky(count: int, pause: float) -> list[int]:
    """Create ``count`` FlakyCall instances, not due yet: they are woken all at once."""
    from automations.models import AutomationModel
    from bench.retry_automations import FlakyCall

    ids = [FlakyCall(autorun=False, pause=pause).id for _ in range(count)]
    AutomationModel.objects.filter(pk__in=ids).update(wake_at=None)
    return ids


def _results(ids, node):
    from automations.models import AutomationModel, AutomationTaskModel
    from bench.measure import CheckFailed

    finished = AutomationModel.objects.filter(pk__in=ids, finished=True).count()
    if finished != len(ids):
        raise CheckFailed(f"{len(ids) - finished} of {len(ids)} instances did not finish")
    tasks = AutomationTaskModel.objects.filter(automation_id__in=ids, status=node)
    return list(tasks.values_list("message", "result"))


async def _ring(send, alarm_ids) -> list[float]:
    """Wake the alarms, wait until they have rung; return how late each rang (seconds)."""
    from channels.db import database_sync_to_async

    from automations import events
    from bench.latency import _until_finished

    for automation_id in alarm_ids:
        await send(events.wake_event(automation_id))
    await _until_finished(alarm_ids, timeout=60)
    return [result / 1000 for _, result in await database_sync_to_async(_results)(alarm_ids, "ring")]


async def _run(args):
    from channels.db import database_sync_to_async

    from automations import events
    from bench import retry_automations
    from bench.latency import _until_finished, in_process_scheduler

    figures: dict = {"threads": []}
    done = asyncio.Event()

    async def count_threads():
        while not done.is_set():
            figures["threads"].append(threading.active_count())
            await asyncio.sleep(0.05)

    alone_ids = await database_sync_to_async(_alarms)(args.alarms)
    among_ids = await database_sync_to_async(_alarms)(args.alarms)
    flaky_ids = await database_sync_to_async(_flaky)(args.instances, args.pause)
    async with in_process_scheduler() as send:
        sampler = asyncio.ensure_future(count_threads())
        figures["alone"] = await _ring(send, alone_ids)
        figures["threads_alone"] = max(figures["threads"])
        calls_before = retry_automations.calls
        began = time.perf_counter()
        for automation_id in flaky_ids:  # all due at once
            await send(events.wake_event(automation_id))
        while retry_automations.calls - calls_before < args.instances:
            await asyncio.sleep(0.01)
        figures["burst"] = time.perf_counter() - began
        figures["among"] = await _ring(send, among_ids)
        figures["calls_while_ringing"] = retry_automations.calls - calls_before - args.instances
        await _until_finished(flaky_ids, timeout=args.pause * 5 + 120)
        figures["seconds"] = time.perf_counter() - began
        figures["calls"] = retry_automations.calls - calls_before
        done.set()
        await sampler
    figures["flaky"] = await database_sync_to_async(_results)(flaky_ids, "call")
    return figures


def _ms(seconds):
    return f"{seconds * 1000:7.1f} ms"


def _spread(values):
    from bench.measure import percentile

    return f"p50 {_ms(percentile(values, 0.5))}  p99 {_ms(percentile(values, 0.99))}  max {_ms(max(values))}"


def benchmark(args, database) -> int:
    from django.db import connection

    from bench import retry_automations
    from bench.measure import CheckFailed, load_average, machine, print_about

    about = machine(connection)
    attempts = retry_automations.ATTEMPTS
    title = "Django Automations: instances retrying a failing call with backoff, embedded scheduler"
    print_about(title, about)
    print(f"  load      {about['load']} at the start")
    print(f"  {args.instances} FlakyCall instances due at once, {attempts} attempts each (the last works), "
          f"pauses of {args.pause / 2:g}-{args.pause:g} s, then 1.5 times that; {args.alarms} alarms "
          f"over {ALARM_SPREAD:g} s")  # fmt: skip
    figures = asyncio.run(_run(args))
    flaky = figures["flaky"]
    print(f"  alarms alone                         {_spread(figures['alone'])}")
    print(f"  alarms while the retries wait        {_spread(figures['among'])}"
          f"  ({figures['calls_while_ringing']} attempts ran meanwhile)")  # fmt: skip
    print(f"  first attempts, all due at once      {args.instances} in {figures['burst']:.2f} s "
          f"({args.instances / figures['burst']:.0f} a second)")  # fmt: skip
    print(f"  last attempts, after their time      {_spread([result / 1000 for _, result in flaky])}")
    calls = figures["calls"]
    print(f"  {calls} calls for {args.instances} instances ({calls / max(args.instances, 1):.2f} each), "
          f"all finished {figures['seconds']:.1f} s after the first attempts began")  # fmt: skip
    threads = figures["threads"]
    print(f"  threads of the process              before the retries {figures['threads_alone']}, "
          f"with them max {max(threads)}")  # fmt: skip
    print(f"load {load_average()} at the end")
    if calls != args.instances * attempts:
        raise CheckFailed(f"{calls} calls, not {args.instances * attempts}: attempts were lost or repeated")
    wrong = [message for message, _ in flaky if message != f"OK, attempt {attempts} of {attempts}"]
    if wrong:
        raise CheckFailed(f"{len(wrong)} instances did not finish at their last attempt, e.g. {wrong[0]!r}")
    if max(threads) > figures["threads_alone"]:
        raise CheckFailed(f"the retries held threads: {max(threads)}, {figures['threads_alone']} before them")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark)


if __name__ == "__main__":
    sys.exit(main())
