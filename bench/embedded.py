"""Embedded mode: many instances woken at once, with the scheduler in the server process.

    .venv/bin/python bench/embedded.py                        # automation_server on a SQLite file
    .venv/bin/python bench/embedded.py --postgres             # ... on PostgreSQL (DATABASE_URL's server)
    .venv/bin/python bench/embedded.py --postgres --redis     # plus one automation_worker on Redis
    make bench BENCH_ARGS="--embedded --postgres --redis"     # the same through bench/run.py

Like ``bench/runtime.py`` it creates a database of its own and drops it at the end. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

ROOT = Path(__file__).resolve().parent.parent
TARGET_EMBEDDED_P99 = 0.050
TARGET_REDIS_P99 = 0.020
START_ROUNDS = 3  # start timings per run with a worker, with and without publishing, alternating
PING_EVERY = 0.02  # seconds between the web requests timed while the wakes run


def parse_args(argv=None) -> argparse.Namespace:
    from bench.measure import add_database_options

    parser = argparse.ArgumentParser(description="Benchmark wake-ups in embedded mode (automation_server).")
    add_database_options(parser, "atm_bench_embedded")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="also one automation_worker on Redis (REDIS_URL, default redis://127.0.0.1:6379/0); "
        "needs --postgres",
    )
    parser.add_argument(
        "--sleepers",
        type=int,
        default=200,
        help="instances woken at once, and instances started one after another (default 200)",
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=4.0,
        help="seconds over which the staggered sleepers are started one after another (default 4)",
    )
    parser.add_argument(
        "--starts", type=int, default=200, help="instances started per start timing (default 200)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per setup (default 3)")
    parser.add_argument(
        "--lead",
        type=float,
        default=12.0,
        help="seconds from putting the sleepers to sleep to their wake-up, minus 1 s: time for the server "
        "to start (default 12)",
    )
    args = parser.parse_args(argv)
    if args.redis and not args.postgres:
        parser.error("--redis needs --postgres: the worker process shares the database")
    args.redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return args


# -- the sleepers ------------------------------------------------------------------------------------


def put_to_sleep(count: int, lead: float):
    """Start ``count`` ``SecondSleeper``s all asleep from one moment (a frozen clock); return (ids, due)."""
    from django.utils import timezone

    from bench.automations import SecondSleeper
    from bench.measure import clock_at

    pending = [SecondSleeper(autorun=False) for _ in range(count)]
    asleep_at = timezone.now() + timedelta(seconds=lead)
    with clock_at(asleep_at):
        for instance in pending:
            instance.run()
    return [instance.id for instance in pending], asleep_at + timedelta(seconds=1)


def wait_finished(ids, timeout: float) -> None:
    from automations.models import AutomationModel
    from bench.measure import CheckFailed

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if AutomationModel.objects.filter(pk__in=ids, finished=True).count() == len(ids):
            return
        time.sleep(0.05)
    unfinished = len(ids) - AutomationModel.objects.filter(pk__in=ids, finished=True).count()
    raise CheckFailed(f"{unfinished} of {len(ids)} sleepers did not finish within {timeout:g} s")


def lateness(ids) -> list[float]:
    """Seconds each sleeper's node ran after it was due (the node notes it)."""
    from automations.models import AutomationTaskModel

    rows = AutomationTaskModel.objects.filter(automation_id__in=ids, status="sleep")
    return [ms / 1000 for ms in rows.values_list("result", flat=True)]


def staggered(args, start) -> dict:
    """Start ``--sleepers`` sleepers one after another over ``--spread`` seconds with ``start()`` (which
    returns the new instance's id), each sleeping 1 s, so that the earlier ones fall due while the later
    ones are being started; wait for all; return their lateness and how long each start took."""
    from bench.peer_workloads.counting import paced

    def timed_start():
        began = time.perf_counter()
        automation_id = start()
        return automation_id, time.perf_counter() - began

    started = paced(args.sleepers, args.spread, timed_start)
    ids = [automation_id for automation_id, _ in started]
    wait_finished(ids, timeout=args.spread + 120)
    return {"lateness": lateness(ids), "start_seconds": [seconds for _, seconds in started]}


def check_in_time(due, what):
    from django.utils import timezone

    from bench.measure import CheckFailed

    if timezone.now() > due - timedelta(seconds=0.3):
        raise CheckFailed(f"{what} took until the sleepers were due; give a longer --lead")


# -- the embedded server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedServer:
    """``manage.py automation_server`` (daphne and the scheduler in one process), in-memory layer."""

    def __init__(self, database: dict):
        from bench.workers import database_url

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile(mode="w+")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.server_settings",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": "",
            "ATM_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "manage.py", "automation_server", "--noreload", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)

    def get(self, path: str, timeout: float = 30) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            return json.loads(response.read())

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"automation_server exited with {self.process.returncode}")
            try:
                self.get("/bench/ping", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        raise RuntimeError(f"automation_server did not answer:\n{self.log.read()[-3000:]}")

    def __enter__(self):
        try:
            self.wait_up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        from tests.people.live_server import stop

        stop(self.process)
        self.log.close()


class Pinger:
    """Times a web request every ``PING_EVERY`` seconds in a thread; notes (sent at, latency)."""

    def __init__(self, server: EmbeddedServer):
        self.server, self.samples, self._stopping = server, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stopping.is_set():
            sent_wall, sent = time.time(), time.perf_counter()
            self.server.get("/bench/ping")
            self.samples.append((sent_wall, time.perf_counter() - sent))
            self._stopping.wait(PING_EVERY)

    def stop(self):
        self._stopping.set()
        self._thread.join()


def embedded_run(args, database) -> dict:
    """One run: sleepers due at once, then the server started; lateness and requests while they wake."""
    ids, due = put_to_sleep(args.sleepers, args.lead)
    with EmbeddedServer(database) as server:  # its first sweep arms the sleepers' timers
        check_in_time(due, "starting the server")
        pinger = Pinger(server)
        wait_finished(ids, timeout=args.lead + 120)
        finished_at = time.time()
        pinger.stop()
        # Started from outside, one request each, while the earlier ones fall due in the server.
        stagger = staggered(args, lambda: server.get("/bench/sleep")["id"])
        started = server.get(f"/bench/start?n={args.starts}", timeout=300)
    due_at = due.timestamp()
    idle = [latency for sent, latency in pinger.samples if sent < due_at - 0.1]
    busy = [latency for sent, latency in pinger.samples if due_at <= sent <= finished_at]
    return {
        "lateness": lateness(ids),
        "idle": idle,
        "busy": busy,
        "starts": started["seconds"],
        "staggered": stagger,
    }


# -- one automation_worker on Redis --------------------------------------------------------------------


def start_seconds(count: int) -> float:
    from bench.automations import Sleeper

    began = time.perf_counter()
    for _ in range(count):
        Sleeper()
    return time.perf_counter() - began


def redis_run(args, database, channel) -> dict:
    from django.conf import settings

    from automations import settings as atm_settings
    from bench.automations import SecondSleeper
    from bench.workers import Workers

    without, with_worker = [], []
    with Workers([channel], database=database, redis_url=args.redis_url):
        settings.ATM_CHANNEL_NAME = channel
        try:
            for _ in range(START_ROUNDS):  # alternating, so that a change of the machine's pace hits both
                settings.ATM_WORKER = False  # no worker: nothing is published, the worker process idles
                without.append(start_seconds(args.starts))
                settings.ATM_WORKER = True  # each start publishes its wake time, the worker takes it
                with_worker.append(start_seconds(args.starts))
                time.sleep(2 * atm_settings.get("ATM_WAKE_GATHER"))  # the last wake-ups on their way
            ids, due = put_to_sleep(args.sleepers, args.lead)  # the worker arms timers from the hints
            check_in_time(due, "putting the sleepers to sleep")
            wait_finished(ids, timeout=args.lead + 120)
            # Started here, each publishing its wake time, while the earlier ones fall due in the worker.
            stagger = staggered(args, lambda: SecondSleeper().id)
        finally:
            settings.ATM_WORKER = False
    return {
        "lateness": lateness(ids),
        "starts_without": without,
        "starts_with": with_worker,
        "staggered": stagger,
    }


# -- report ------------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def print_lateness(title, runs, target=None):
    """Print the median over ``runs`` of each run's p50 / p99 / max; with ``target``, whether the p99
    reaches it; without, the comparison the staggered sleepers are held to (DBOS's, bench/peers.py)."""
    from bench.measure import percentile

    p50 = [percentile(run, 0.5) for run in runs]
    p99 = [percentile(run, 0.99) for run in runs]
    top = [max(run) for run in runs]
    median = statistics.median
    if target is None:
        goal = "target <= DBOS's p50 and p99 (bench/peers.py)"
    else:
        goal = f"target p99 <= {_ms(target)}: {'met' if median(p99) <= target else 'MISSED'}"
    print(
        f"  {title:<44} p50 {_ms(median(p50)):>10}  p99 {_ms(median(p99)):>10}  max {_ms(median(top)):>10}"
        f"  (median of {len(runs)} runs; p50 {_ms(min(p50))} .. {_ms(max(p50))}, "
        f"p99 {_ms(min(p99))} .. {_ms(max(p99))})  {goal}"
    )


def print_staggered(args, title, runs):
    print(
        f"{args.sleepers} instances sleeping 1 s, started one after another over {args.spread:g} s "
        f"(earlier ones fall due while later ones start), {title}:"
    )
    print_lateness("lateness", [run["staggered"]["lateness"] for run in runs])
    print_requests("one start", [x for run in runs for x in run["staggered"]["start_seconds"]], "starts")


def print_requests(title, samples, noun="requests"):
    from bench.measure import percentile

    if not samples:
        print(f"  {title:<44} no samples")
        return
    print(
        f"  {title:<44} p50 {_ms(percentile(samples, 0.5)):>10}  p99 {_ms(percentile(samples, 0.99)):>10}  "
        f"max {_ms(max(samples)):>10}  ({len(samples)} {noun})"
    )


def benchmark(args, database) -> int:
    from django.db import connection

    from bench.measure import Series, load_average, machine, print_about

    about = machine(connection)
    print_about("Django Automations embedded-mode benchmark", about)
    print(f"  load      {about['load']} at the start (other processes make every figure slower)")
    print()
    runs = [embedded_run(args, database) for _ in range(args.runs)]
    print(
        f"{args.sleepers} instances sleeping 1 s, all due at one moment, automation_server (in-memory layer):"
    )
    print_lateness(
        "lateness, scheduler in the server process", [run["lateness"] for run in runs], TARGET_EMBEDDED_P99
    )
    print_requests("web request before the wakes (idle server)", [x for run in runs for x in run["idle"]])
    print_requests("web request while the wakes run", [x for run in runs for x in run["busy"]])
    starts = Series(run["starts"] for run in runs)
    print(
        f"  starting {args.starts} instances in a request: {starts.median:.2f} s "
        f"({starts.low:.2f} .. {starts.high:.2f}), {args.starts / starts.median:,.0f} instances/s"
    )
    print()
    print_staggered(args, "automation_server (in-memory layer), a request to the server per start", runs)
    if args.redis:
        channel = f"automations.bench-embedded-{uuid.uuid4().hex[:8]}"
        redis_runs = [redis_run(args, database, channel) for _ in range(args.runs)]
        print()
        print(
            f"{args.sleepers} instances sleeping 1 s, all due at one moment, one automation_worker on Redis:"
        )
        print_lateness(
            "lateness, automation_worker process", [run["lateness"] for run in redis_runs], TARGET_REDIS_P99
        )
        without = Series(seconds for run in redis_runs for seconds in run["starts_without"])
        with_worker = Series(seconds for run in redis_runs for seconds in run["starts_with"])
        for title, series in (
            ("without a worker", without),
            ("with the worker (a wake-up published each)", with_worker),
        ):
            print(
                f"  starting {args.starts} instances {title:<44} {series.median:.2f} s "
                f"({series.low:.2f} .. {series.high:.2f})"
            )
        print(f"  ({len(without.values)} timings each: {START_ROUNDS} per run, alternating)")
        ratio = with_worker.median / without.median
        print(
            f"  with / without: {ratio:.2f}x  target: no slower ({'met' if ratio <= 1.05 else 'MISSED'}, "
            "within 5 %)"
        )
        print()
        print_staggered(
            args, "one automation_worker on Redis, started in the benchmark's process", redis_runs
        )
    print()
    print(f"load {load_average()} at the end")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark)


if __name__ == "__main__":
    sys.exit(main())
