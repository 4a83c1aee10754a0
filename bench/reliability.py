"""Reliability benchmark: are effects applied exactly once while workers are killed and Redis restarts?

    .venv/bin/python bench/reliability.py [--instances N] [--workers 4] [--kill-every S] [--no-redis-restart]
    .venv/bin/python bench/reliability.py --scenario sigstop|slow-node|pg-restart [--workers 4]

On PostgreSQL (``DATABASE_URL``, database ``atm_bench_reliability``, created and dropped) and a
``redis-server`` of the benchmark's own on a free port (no persistence), it measures:

- **idle event latency**: with one ``automation_worker``, an ``automation.message`` published with
  ``confirm=True`` to an instance waiting for it, until the node it releases has committed (a
  PostgreSQL ``NOTIFY`` from the node, delivered at commit), one event at a time;
- **effects under failures**: ``--instances`` instances of six kinds (linear, split/join, waiting
  for a message, waiting on a timer, a call retried twice, waiting for a sub-automation), started by
  ``automation.start`` events published with ``confirm=True`` over ``--duration`` seconds, the
  message-waiting ones sent their message the
  same way once they exist, through ``--workers`` workers of which a random one is killed with
  SIGKILL every ``--kill-every`` seconds (and started again), and Redis killed and restarted once
  halfway. Every effectful node (and the message receiver) inserts a row in its transaction; after
  a drain the benchmark counts expected, duplicated and lost effects, unfinished instances and
  publishes not confirmed, and the lateness of the timers (due time -> node ran), also for those
  whose worker was killed while it held them.

``--scenario`` runs one of the fault scenarios of ``bench/reliability_faults.py`` instead: a worker
frozen in the middle of a step, a slow node, a PostgreSQL restart. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

from bench.reliability_faults import SCENARIOS, PostgresServer
from bench.reliability_faults import benchmark as faults_benchmark
from bench.reliability_publishing import ConfirmedPublishing

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"^Scheduler worker \S+ listening", re.MULTILINE)
TARGET_IDLE_P99 = 0.020
TARGET_KILLED_TIMER_P99 = 5.0
SETTLE = 0.005  # seconds between idle-latency samples
REDIS_DOWN = 2.0  # seconds Redis stays down
LATEST_SHOWN = 5  # latest timers listed

# The workers' settings install the app ``bench``, whose ``automations`` module is discovered; the
# benchmark's own automations module must be imported too, before the command runs.
WORKER_BOOT = """
import logging, os, sys
import django
django.setup()
logging.basicConfig(format="%(asctime)s pid %(process)d %(levelname)s %(name)s: %(message)s",
                    level=os.environ["ATM_LOG_LEVEL"])
import bench.reliability_automations
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "automation_worker", *sys.argv[1:]])
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Reliability benchmark of the Django Automations runtime.")
    parser.add_argument("--instances", type=int, default=1000, help="instances, of five kinds (default 1000)")
    parser.add_argument("--workers", type=int, default=4, help="automation_worker processes (default 4)")
    parser.add_argument(
        "--kill-every", type=float, default=5.0,
        help="seconds between SIGKILLs of a random worker, which is then started again (default 5; 0: none)",
    )  # fmt: skip
    parser.add_argument("--no-redis-restart", action="store_true", help="do not restart Redis halfway")
    parser.add_argument(
        "--scenario", choices=("chaos", *SCENARIOS), default="chaos",
        help="chaos (default): kills and a Redis restart; sigstop, slow-node, pg-restart: one fault, with "
        "the lateness of the events of other instances (bench/reliability_faults.py)",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=float, default=60.0,
        help="seconds over which the starts are published (default 60)",
    )  # fmt: skip
    parser.add_argument(
        "--drain", type=float, default=180.0,
        help="seconds allowed after the failures for everything to finish (default 180)",
    )  # fmt: skip
    parser.add_argument(
        "--confirm-timeout", type=float, default=60.0, help="timeout of each confirmed publish (default 60)"
    )
    parser.add_argument("--samples", type=int, default=200, help="idle latency samples (default 200)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the choice of workers to kill")
    parser.add_argument(
        "--database-name", default="atm_bench_reliability",
        help="its PostgreSQL database, created and dropped (default atm_bench_reliability)",
    )  # fmt: skip
    parser.add_argument(
        "--keep-logs", metavar="DIR",
        help="keep the workers' and Redis's logs in DIR (a temporary directory is kept anyway on a failure)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="with --scenario: 3 s faults, 10 messages/s, short lead and tail (the smoke test)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.instances < 4 or args.workers < 1:
        parser.error("give at least 4 instances and 1 worker")
    if not shutil.which("redis-server"):
        parser.error("redis-server is not on PATH")
    return args


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _terminate(process, timeout=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """A ``redis-server`` without persistence on ``port``, killed and started again on request."""

    def __init__(self, port: int, log_dir: Path):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log = open(log_dir / "redis.log", "a")  # noqa: SIM115 - closed in stop()
        self.process = None

    def start(self, timeout=10):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no"], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as client:
                    client.sendall(b"PING\r\n")
                    if client.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process is not None:
            _terminate(self.process)
        self.log.close()


class WorkerPool:
    """``automation_worker`` processes, each logging to a file of its own; any one can be killed."""

    def __init__(self, *, database: dict, redis_url: str, log_dir: Path, name: str = "worker"):
        from bench.workers import database_url

        self.log_dir, self.name = log_dir, name
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.worker_settings",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url,
            "ATM_LOG_LEVEL": os.environ.get("ATM_LOG_LEVEL") or "WARNING",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",  # the worker's "listening" line reaches its log file at once
        }
        self.alive: list[subprocess.Popen] = []
        self.logs: dict[int, Path] = {}
        self.kills: list[tuple[int, datetime]] = []  # (pid, when), in order
        self.spawned = 0

    def spawn(self) -> subprocess.Popen:
        self.spawned += 1
        path = self.log_dir / f"{self.name}-{self.spawned}.log"
        with open(path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER_BOOT, "--sweep-interval", "30"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.logs[process.pid] = path
        self.alive.append(process)
        self.note(f"pid {process.pid} started, log {path.name}")
        return process

    def note(self, what):
        with open(self.log_dir / "workers.log", "a") as log:
            log.write(f"{datetime.now().isoformat(sep=' ', timespec='milliseconds')} {what}\n")

    def ready(self, process) -> bool:
        return bool(READY.search(self.logs[process.pid].read_text()))

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        for process in self.alive:
            while not self.ready(process):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = self.logs[process.pid].read_text()[-3000:]
                    raise RuntimeError(f"a worker did not start:\n{log}")
                time.sleep(0.05)

    def start(self, count: int):
        for _ in range(count):
            self.spawn()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def kill_one(self, rng: random.Random, beating: set[int]):
        """SIGKILL a random worker among those whose pid is in ``beating`` and start another in its place."""
        listening = [process for process in self.alive if process.pid in beating]
        if not listening:
            return
        victim = rng.choice(listening)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills.append((victim.pid, datetime.now(UTC)))
        self.alive.remove(victim)
        self.note(f"pid {victim.pid} killed")
        self.spawn()

    def stop(self):
        for process in self.alive:
            process.terminate()
        for process in self.alive:
            _terminate(process)
        self.alive = []


def configure(args, redis_url) -> dict:
    from bench import settings as bench_settings

    return bench_settings.configure(
        postgres=True, database_name=args.database_name, directory=None, redis_url=redis_url
    )


# -- idle latency ---------------------------------------------------------------------------------


async def _idle_latencies(ids, listener, run):
    from automations import events

    loop = asyncio.get_running_loop()
    confirmed, committed = [], []
    for number, automation_id in enumerate(ids):
        arrived = asyncio.Event()
        listener.callbacks[automation_id] = lambda arrived=arrived: loop.call_soon_threadsafe(arrived.set)
        event = {"type": events.MESSAGE, "automation": automation_id, "message": "go", "token": "idle",
                 "id": f"{run}-idle-{number}"}  # fmt: skip
        sent = time.perf_counter()
        await events.apublish(event, confirm=True, timeout=10)
        confirmed.append(time.perf_counter() - sent)
        await asyncio.wait_for(arrived.wait(), 10)
        committed.append(listener.pinged[automation_id] - sent)
        await asyncio.sleep(SETTLE)
    return confirmed, committed


def idle_latency(args, pool, run):
    """Return seconds until confirmed and until committed, for ``args.samples`` messages, one worker."""
    from django.db import connection

    from bench.latency import CommitListener
    from bench.reliability_automations import Answering

    warm_up = 5
    ids = [Answering().id for _ in range(args.samples + warm_up)]  # each waits for its message
    pool.start(1)
    listener = CommitListener(connection.settings_dict)
    try:
        confirmed, committed = asyncio.run(_idle_latencies(ids, listener, run))
    finally:
        pool.stop()
        listener.close()
    return confirmed[warm_up:], committed[warm_up:]


# -- under failures -------------------------------------------------------------------------------


def _instances(path) -> dict[int, list[int]]:
    """Return ``{n: [instance ids]}`` of the class ``path``."""
    from automations.models import AutomationModel

    found: dict[int, list[int]] = {}
    for n, pk in AutomationModel.objects.filter(automation_class=path).values_list("data__n", "pk"):
        found.setdefault(n, []).append(pk)
    return found


def _beating() -> set[int]:
    """Return the pids of the workers that have recorded a heartbeat (their names are host:pid:token)."""
    from automations.models import WorkerModel

    return {int(name.split(":")[-2]) for name in WorkerModel.objects.values_list("name", flat=True)}


def _unsettled(paths) -> tuple[int, int, int]:
    """Return (instances, unfinished instances, inbox events not handled)."""
    from automations.models import AutomationModel, InboxEvent

    ours = AutomationModel.objects.filter(automation_class__in=paths)
    return ours.count(), ours.filter(finished=False).count(), InboxEvent.objects.filter(handled=None).count()


class Chaos(ConfirmedPublishing):
    """Publish the starts and messages with confirmation while workers are killed and Redis restarts."""

    def __init__(self, args, pool, redis, run):
        from bench.reliability_automations import KINDS

        self.args, self.pool, self.redis, self.run = args, pool, redis, run
        self.kinds = list(KINDS)
        self.paths = {kind: cls.get_automation_class_name() for kind, (cls, _) in KINDS.items()}
        self.counts = Counter()
        self.failures = Counter()
        self.started: set[int] = set()  # n of the confirmed starts
        self.messaged: set[int] = set()  # instance ids sent their message
        self.redis_restart = None
        self.rng = random.Random(args.seed)
        self.timeline: list[str] = []

    def kind_of(self, n):
        return self.kinds[n % len(self.kinds)]

    def not_confirmed(self, what, exc):
        from automations import events

        if isinstance(exc, events.EventNotConfirmedError):
            self.counts[f"{what} not confirmed"] += 1
        else:
            self.failures[f"{what}: {type(exc).__name__}: {str(exc)[:200]}"] += 1

    async def start_one(self, n):
        from automations import events

        event = {"type": events.START, "automation_class": self.paths[self.kind_of(n)], "data": {"n": n},
                 "id": f"{self.run}-start-{n}"}  # fmt: skip
        if await self.confirmed(event, "starts"):
            self.started.add(n)

    async def publish_starts(self):
        loop = asyncio.get_running_loop()
        interval = self.args.duration / self.args.instances
        first = loop.time()
        tasks = []
        for n in range(self.args.instances):
            await asyncio.sleep(max(0.0, first + n * interval - loop.time()))
            tasks.append(asyncio.create_task(self.start_one(n)))
            if n == self.args.instances // 2 and not self.args.no_redis_restart:
                self.redis_restart = asyncio.create_task(self.restart_redis())
        self.note(f"all {self.args.instances} starts sent")
        await asyncio.gather(*tasks)
        self.note("all starts answered")

    async def restart_redis(self):
        self.note("Redis killed")
        self.redis.kill()
        await asyncio.sleep(REDIS_DOWN)
        await asyncio.to_thread(self.redis.start)
        self.note("Redis started again")

    async def send_messages(self, starts: asyncio.Task):
        from channels.db import database_sync_to_async

        from automations import events

        tasks = []
        path = self.paths["message"]
        deadline = None
        while True:
            found = await database_sync_to_async(_instances)(path)
            for n, ids in found.items():
                for automation_id in ids:
                    if automation_id not in self.messaged:
                        self.messaged.add(automation_id)
                        event = {"type": events.MESSAGE, "automation": automation_id, "message": "go",
                                 "token": str(n), "id": f"{self.run}-message-{automation_id}"}  # fmt: skip
                        tasks.append(asyncio.create_task(self.confirmed(event, "messages")))
            if starts.done():
                waiting = {n for n in self.started if self.kind_of(n) == "message"} - set(found)
                if not waiting:
                    break
                deadline = deadline or time.monotonic() + self.args.drain
                if time.monotonic() > deadline:
                    self.note(f"{len(waiting)} confirmed message-waiting starts never created an instance")
                    break
            await asyncio.sleep(0.2)
        await asyncio.gather(*tasks)
        self.note("all messages answered")

    async def kill_workers(self, stop: asyncio.Event):
        from channels.db import database_sync_to_async

        if not self.args.kill_every:
            return
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.args.kill_every)
                return
            except TimeoutError:
                self.pool.kill_one(self.rng, await database_sync_to_async(_beating)())

    async def drain(self):
        from channels.db import database_sync_to_async

        paths = list(self.paths.values())
        deadline = time.monotonic() + self.args.drain
        while time.monotonic() < deadline:
            instances, unfinished, pending = await database_sync_to_async(_unsettled)(paths)
            if instances >= len(self.started) and not unfinished and not pending:
                self.note("everything finished")
                return
            await asyncio.sleep(0.5)
        self.note(f"drain time of {self.args.drain:g} s over")

    async def arun(self):
        from bench.reliability_automations import TIMER

        self.start_clock()
        stop_killing = asyncio.Event()
        killer = asyncio.create_task(self.kill_workers(stop_killing))
        starts = asyncio.create_task(self.publish_starts())
        messages = asyncio.create_task(self.send_messages(starts))
        await asyncio.gather(starts, messages)
        if self.redis_restart is not None:
            await self.redis_restart
        await asyncio.sleep(TIMER.total_seconds() + 1)  # the last timers come due under the kills
        stop_killing.set()
        await killer
        self.note(f"kills stopped after {len(self.pool.kills)}")
        await self.drain()


def _effects():
    from django.db import connection

    from bench.reliability_automations import EFFECTS

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, node, count(*) FROM {EFFECTS} GROUP BY n, node")
        counts = {(n, node): count for n, node, count in cursor.fetchall()}
        cursor.execute(
            f"SELECT DISTINCT ON (fire.automation_id) fire.ran - fire.due, arm.pid, arm.ran, fire.ran, "
            f"fire.due, fire.pid, fire.n "
            f"FROM {EFFECTS} fire JOIN {EFFECTS} arm ON arm.automation_id = fire.automation_id "
            f"AND arm.node = 'arm' WHERE fire.node = 'fire' ORDER BY fire.automation_id, fire.ran, arm.ran"
        )
        timers = cursor.fetchall()
    return counts, timers


def tally(chaos) -> dict:
    """Count expected, duplicated and lost effects by kind, and the instances' state."""
    from automations.models import AutomationModel, InboxEvent
    from bench.reliability_automations import KINDS

    counts, timers = _effects()
    by_kind = {kind: Counter() for kind in KINDS}
    for n in range(chaos.args.instances):
        kind = chaos.kind_of(n)
        for node in KINDS[kind][1]:
            count = counts.get((n, node), 0)
            by_kind[kind]["expected"] += 1
            by_kind[kind]["duplicated"] += max(0, count - 1)
            by_kind[kind]["lost"] += count == 0
    instances = Counter()
    for kind, path in chaos.paths.items():
        found = _instances(path)
        expected = [n for n in range(chaos.args.instances) if chaos.kind_of(n) == kind]
        instances["never created"] += sum(n not in found for n in expected)
        instances["created twice or more"] += sum(len(ids) > 1 for ids in found.values())
    ours = AutomationModel.objects.filter(automation_class__in=list(chaos.paths.values()))
    instances["unfinished"] = ours.filter(finished=False).count()
    instances["stopped by an error"] = ours.exclude(error="").count()
    inbox = Counter(InboxEvent.objects.exclude(pk__contains="-idle-").values_list("outcome", flat=True))
    kills = {}
    for pid, when in chaos.pool.kills:
        kills.setdefault(pid, when)
    lateness, killed, late_ones = [], [], []
    for late, arm_pid, armed, ran, due, fire_pid, n in timers:
        lateness.append(late.total_seconds())
        kill = kills.get(arm_pid)
        if kill is not None and armed < kill < ran:
            killed.append(late.total_seconds())
        late_ones.append((late.total_seconds(), n, arm_pid, armed, due, kill, fire_pid, ran))
    late_ones.sort(reverse=True)
    return {"by_kind": by_kind, "instances": instances, "inbox": inbox, "lateness": lateness,
            "killed": killed, "latest": late_ones[:LATEST_SHOWN]}  # fmt: skip


# -- printing -------------------------------------------------------------------------------------


def _ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def _s(seconds):
    return f"{seconds:.2f} s"


def _clock(moment):
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3]


def _verdict(ok):
    return "met" if ok else "MISSED"


def print_percentiles(title, values, unit, target=None):
    from bench.measure import percentile

    if not values:
        print(f"  {title:<44} no samples")
        return
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    line = f"  {title:<44} p50 {unit(p50):>9}  p99 {unit(p99):>9}  max {unit(max(values)):>9}"
    line += f"  ({len(values)})"
    if target is not None:
        line += f"  target p99 < {unit(target)}: {_verdict(p99 < target)}"
    print(line)


def print_count(title, value, target=0):
    line = f"  {title:<44} {value:>7,}"
    if target is not None:
        line += f"  target {target}: {_verdict(value == target)}"
    print(line)


LOG_LINE = re.compile(r"^\S+ \S+ pid \d+ (WARNING|ERROR|CRITICAL) (\S+): (.*)$")


def summarize_logs(log_dir: Path) -> Counter:
    """Count the workers' log lines by level, logger and message (numbers and names blurred)."""
    lines = Counter()
    for path in sorted(log_dir.glob("worker-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            match = LOG_LINE.match(line)
            if match:
                level, logger, message = match.groups()
                message = re.sub(r"[0-9a-f]{6,}|\d+", "#", message)[:110]
                lines[f"{level} {logger}: {message}"] += 1
            elif line.startswith("Traceback"):
                lines["Traceback"] += 1
    return lines


def benchmark(args, database, redis, log_dir) -> int:
    from django.db import connection

    from bench.measure import load_average, machine, print_about
    from bench.reliability_automations import CREATE_EFFECTS, KINDS, TIMER

    with connection.cursor() as cursor:
        cursor.execute(CREATE_EFFECTS)
    run = uuid.uuid4().hex[:8]
    about = machine(connection)
    print_about("Django Automations reliability benchmark", about)
    print(f"  redis     {redis.url} (its own redis-server, no persistence)")
    print(f"  load      {about['load']} at the start")
    print()
    pool = WorkerPool(database=database, redis_url=redis.url, log_dir=log_dir, name="idle-worker")
    confirmed, committed = idle_latency(args, pool, run)
    print(f"Idle event latency, one worker ({args.samples} automation.message events, confirm=True, "
          "one at a time):")  # fmt: skip
    print_percentiles("until the publish was confirmed", confirmed, _ms)
    print_percentiles("until the released node committed", committed, _ms, TARGET_IDLE_P99)
    print()

    pool = WorkerPool(database=database, redis_url=redis.url, log_dir=log_dir)
    pool.start(args.workers)
    chaos = Chaos(args, pool, redis, run)
    try:
        asyncio.run(chaos.arun())
    finally:
        pool.stop()
    result = tally(chaos)
    kinds = ", ".join(f"{kind} {len(nodes)}" for kind, (_, nodes) in KINDS.items())
    restart = f"Redis killed once halfway, down {REDIS_DOWN:g} s"
    if args.no_redis_restart:
        restart = "no Redis restart"
    print(f"Under failures: {args.instances:,} instances, {len(KINDS)} kinds in turn (effects: {kinds}),")
    print(f"  starts published over {args.duration:g} s with confirm=True, {args.workers} workers, SIGKILL "
          f"of a random one every {args.kill_every:g} s ({len(pool.kills)} kills), {restart}:")  # fmt: skip
    for line in chaos.timeline:
        print(f"    {line}")
    print(f"  {'':<44} {'expected':>8} {'duplicated':>11} {'lost':>6}")
    total = Counter()
    for kind, counts in [*result["by_kind"].items(), ("all", total)]:
        if kind != "all":
            total.update(counts)
        line = f"  {'effects, ' + kind:<44} {counts['expected']:>8,} {counts['duplicated']:>11,}"
        print(f"{line} {counts['lost']:>6,}")
    effects_ok = not total["duplicated"] and not total["lost"]
    print(f"  {'':<44} target 0 duplicated, 0 lost: {_verdict(effects_ok)}")
    instances = result["instances"]
    print_count("instances unfinished", instances["unfinished"])
    print_count("instances never created", instances["never created"])
    print_count("instances created twice or more", instances["created twice or more"])
    print_count("instances stopped by an error", instances["stopped by an error"])
    not_confirmed = chaos.counts["starts not confirmed"] + chaos.counts["messages not confirmed"]
    print_count("publishes not confirmed", not_confirmed)
    print_count("publishes confirmed (starts + messages)",
                chaos.counts["starts confirmed"] + chaos.counts["messages confirmed"], None)  # fmt: skip
    for failure, count in chaos.failures.items():
        print_count(f"publish failed: {failure}", count)
    inbox = ", ".join(f"{outcome or 'pending'} {count}" for outcome, count in sorted(result["inbox"].items()))
    print(f"  {'inbox events':<44} {inbox}")
    print(f"Timer lateness (due -> node ran; {TIMER.total_seconds():g} s timers):")
    print_percentiles("all timers", result["lateness"], _s)
    killed = "timers whose worker was killed meanwhile"
    print_percentiles(killed, result["killed"], _s, TARGET_KILLED_TIMER_P99)
    print(f"  the {LATEST_SHOWN} latest (time of day; the worker that armed the timer, and its SIGKILL):")
    for late, n, arm_pid, armed, due, kill, fire_pid, ran in result["latest"]:
        killed_at = f"killed {_clock(kill)}" if kill is not None else "not killed"
        print(f"    {_s(late):>8} late  n={n:<5} armed {_clock(armed)} by pid {arm_pid} ({killed_at}), "
              f"due {_clock(due)}, ran {_clock(ran)} by pid {fire_pid}")  # fmt: skip
    print()
    lines = summarize_logs(log_dir)
    print(f"Worker log lines (WARNING and above, {pool.spawned} worker processes):")
    for line, count in lines.most_common(12):
        print(f"  {count:>6}  {line}")
    print()
    print(f"load {load_average()} at the end")
    correct = not (total["duplicated"] or total["lost"] or not_confirmed or chaos.failures
                   or any(instances.values()))  # fmt: skip
    return 0 if correct else 1


def main(argv=None) -> int:
    from bench.measure import throwaway_database

    args = parse_args(argv)
    log_dir = Path(args.keep_logs) if args.keep_logs else Path(tempfile.mkdtemp(prefix="atm-reliability-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    redis = RedisServer(free_port(), log_dir)
    postgres = PostgresServer(free_port()) if args.scenario == "pg-restart" else None
    status = 1
    try:
        redis.start()
        if postgres is not None:  # restarted by the benchmark: a server of its own, no one else's
            postgres.init()
            os.environ["DATABASE_URL"] = postgres.url
        with throwaway_database(lambda directory: configure(args, redis.url)) as database:
            import bench.reliability_automations  # noqa: F401 - registers the benchmark's automations

            if args.scenario == "chaos":
                status = benchmark(args, database, redis, log_dir)
            else:
                status = faults_benchmark(args, database, redis, log_dir, postgres)
    finally:
        redis.stop()
        if postgres is not None:
            postgres.remove()
        if status == 0 and not args.keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"Logs of the workers and Redis: {log_dir}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
