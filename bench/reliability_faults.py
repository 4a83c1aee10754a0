"""The reliability benchmark's fault scenarios: a frozen worker, a slow node, a PostgreSQL restart.

    .venv/bin/python bench/reliability.py --scenario sigstop|slow-node|pg-restart [--workers 4]

While ``--workers`` workers run, the benchmark sends ``automation.message`` events with
``confirm=True`` at 20 a second, each to an instance of its own that waits for it
(``Stamped``: the message carries the moment it was sent, the node it releases records it), and
then brings about one fault:

- ``sigstop``: a ``Holding`` instance is sent the message ``hold``; once the node it releases runs
  (it writes its worker's pid to a file, then sleeps 2 s holding the instance's row), that worker
  gets SIGSTOP for 30 seconds, then SIGCONT; ``HELD_MESSAGES`` messages are sent to the
  held instance meanwhile;
- ``slow-node``: the same, but the node sleeps 30 seconds and no worker is frozen;
- ``pg-restart``: the benchmark runs on a PostgreSQL server of its own (``initdb`` in a temporary
  directory, a free port), which is stopped, left down ``PG_DOWN`` seconds and started again;
  ``Timed`` instances (a timer 4 s after their first node) are started at ``TIMER_RATE`` a second
  throughout, so that timers fall due while the database is down and just after.

``--quick`` shortens it all (3 s faults, 10 messages a second; the smoke test). Then it counts
lost and duplicated effects, the lateness (sent -> the released node ran) of the
messages to the other instances, and of the timers (due -> ran) and messages around the restart.
See bench/README.md.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.reliability_publishing import ConfirmedPublishing

SCENARIOS = ("sigstop", "slow-node", "pg-restart")
TIMER_RATE = 5  # Timed instances started a second (pg-restart)
HELD_NODE = 2.0  # seconds the held node runs when its worker is frozen (sigstop)
PG_DOWN = 3.0  # seconds PostgreSQL stays down (pg-restart)
HELD_MESSAGES = 4  # messages to the held instance
AFTER_RESTART = 10.0  # seconds after the restart whose timers and messages are counted as "after"
TARGET_OTHERS_P99 = 1.0
TARGET_RESTART_P99 = 5.0
HELD_N = -1  # the start number ("n") of the Holding instance
TIMED_FIRST_N = 100_000  # start numbers of the Timed instances
LATEST_SHOWN = 5  # latest messages to other instances listed


@dataclass(frozen=True)
class Timings:
    """How long the scenario's parts last: ``FULL`` by default, ``QUICK`` with ``--quick`` (smoke test)."""

    rate: int = 20  # messages a second, each to an instance of its own
    lead: float = 5.0  # seconds of traffic before the fault
    tail: float = 10.0  # seconds of traffic after it
    freeze: float = 30.0  # seconds a worker stays stopped (sigstop)
    slow: float = 30.0  # seconds the slow node runs (slow-node)


FULL = Timings()
QUICK = Timings(rate=10, lead=1.0, tail=2.0, freeze=3.0, slow=3.0)


class PostgresServer:
    """A PostgreSQL server of the benchmark's own, in a temporary directory, on a free port.

    ``initdb`` and ``pg_ctl`` come from ``pg_config --bindir`` (or the ``PATH``); as root they run
    as the user ``postgres``, which PostgreSQL requires.
    """

    def __init__(self, port: int):
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="atm-bench-postgres-"))
        self.data, self.log = self.directory / "data", self.directory / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        self.bindir = _postgres_bindir()
        self.as_user = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chmod(self.directory, 0o755)
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, program, *args):
        command = [*self.as_user, str(Path(self.bindir) / program), *args]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def init(self):
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()

    def start(self):
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        options += " -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_bindir() -> str:
    try:
        found = subprocess.run(["pg_config", "--bindir"], check=True, capture_output=True, text=True)
        return found.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found = shutil.which("initdb")
        if not found:
            raise RuntimeError("pg-restart needs PostgreSQL's initdb and pg_ctl (pg_config, PATH)") from None
        return str(Path(found).parent)


def _effects():
    from django.db import connection

    from bench.reliability_automations import EFFECTS

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, node, count(*) FROM {EFFECTS} GROUP BY n, node")
        counts = {(n, node): count for n, node, count in cursor.fetchall()}
        cursor.execute(f"SELECT n, node, ran, due FROM {EFFECTS} WHERE due IS NOT NULL")
        stamped = cursor.fetchall()
    return counts, stamped


def _stamped_instances(count):
    from bench.reliability_automations import Stamped

    return [Stamped(n=n).id for n in range(count)]


class Faults(ConfirmedPublishing):
    """Send the messages (and for pg-restart start the timers) while the scenario's fault happens."""

    def __init__(self, args, pool, run, hold_file: Path, postgres: PostgresServer | None):
        self.args, self.pool, self.run = args, pool, run
        self.hold_file, self.postgres = hold_file, postgres
        self.counts = Counter()
        self.messaged: list[int] = []  # n of the Stamped instances sent their message
        self.timed: list[int] = []  # n of the Timed instances whose start was confirmed
        self.held_id: int | None = None
        self.fault: tuple[datetime, datetime] | None = None
        self.timeline: list[str] = []
        self.tasks: list[asyncio.Task] = []
        self.t = QUICK if args.quick else FULL

    async def message(self, automation_id, token, what) -> bool:
        from automations import events

        event = {
            "type": events.MESSAGE,
            "automation": automation_id,
            "message": "go",
            "token": token,
            "data": {"sent": time.time()},
            "id": f"{self.run}-{what}-{automation_id}-{token}",
        }
        return await self.confirmed(event, what)

    async def start(self, cls, data, what) -> bool:
        from automations import events

        event = {"type": events.START, "automation_class": cls.get_automation_class_name(), "data": data,
                 "id": f"{self.run}-start-{data['n']}"}  # fmt: skip
        return await self.confirmed(event, what)

    async def traffic(self, ids, stop: asyncio.Event):
        loop = asyncio.get_running_loop()
        first = loop.time()
        for n, automation_id in enumerate(ids):
            await asyncio.sleep(max(0.0, first + n / self.t.rate - loop.time()))
            if stop.is_set():
                break
            self.messaged.append(n)
            self.tasks.append(asyncio.create_task(self.message(automation_id, "other", "messages")))
        else:
            self.note("ran out of waiting instances")

    async def timers(self, stop: asyncio.Event):
        from bench.reliability_automations import Timed

        async def start_one(n):
            if await self.start(Timed, {"n": n}, "timed starts"):
                self.timed.append(n)

        loop = asyncio.get_running_loop()
        first, k = loop.time(), 0
        while not stop.is_set():
            await asyncio.sleep(max(0.0, first + k / TIMER_RATE - loop.time()))
            self.tasks.append(asyncio.create_task(start_one(TIMED_FIRST_N + k)))
            k += 1

    async def held_instance(self, seconds) -> int:
        """Start the Holding instance; return its worker's pid once its node runs."""
        from channels.db import database_sync_to_async

        from automations import events
        from bench.reliability_automations import Holding

        # Created here, so that its row is committed before a worker's step holds it.
        self.held_id = await database_sync_to_async(lambda: Holding(n=HELD_N, messages=HELD_MESSAGES).id)()
        event = {"type": events.MESSAGE, "automation": self.held_id, "message": "hold", "token": "hold",
                 "data": {"seconds": seconds}, "id": f"{self.run}-hold"}  # fmt: skip
        self.tasks.append(asyncio.create_task(self.confirmed(event, "hold message")))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.hold_file.exists() and self.hold_file.read_text().strip():
                return int(self.hold_file.read_text().split()[0])
            await asyncio.sleep(0.01)
        raise RuntimeError("the Holding instance's node did not run within 30 s")

    async def message_held(self):
        await asyncio.sleep(2)
        for k in range(HELD_MESSAGES):
            message = self.message(self.held_id, str(k), "held messages")
            self.tasks.append(asyncio.create_task(message))

    async def bring_fault(self):
        scenario = self.args.scenario
        if scenario == "pg-restart":
            began = datetime.now(UTC)
            self.note("PostgreSQL stopped")
            await asyncio.to_thread(self.postgres.stop)
            await asyncio.sleep(PG_DOWN)
            await asyncio.to_thread(self.postgres.start)
            self.note("PostgreSQL started again")
            self.fault = (began, datetime.now(UTC))
            return
        seconds = min(HELD_NODE, self.t.freeze) if scenario == "sigstop" else self.t.slow
        pid = await self.held_instance(seconds)
        began = datetime.now(UTC)
        self.note(f"held node runs in pid {pid}, instance {self.held_id}")
        messages = asyncio.create_task(self.message_held())
        if scenario == "sigstop":
            os.kill(pid, signal.SIGSTOP)
            self.note(f"pid {pid} stopped (SIGSTOP)")
            await asyncio.sleep(self.t.freeze)
            os.kill(pid, signal.SIGCONT)
            self.note(f"pid {pid} continued (SIGCONT)")
        else:
            await asyncio.sleep(self.t.slow)
            self.note("the slow node is done")
        await messages
        self.fault = (began, datetime.now(UTC))

    async def arun(self):
        from channels.db import database_sync_to_async

        self.start_clock()
        fault = PG_DOWN if self.args.scenario == "pg-restart" else max(self.t.freeze, self.t.slow)
        span = self.t.lead + self.t.tail + fault + 10
        ids = await database_sync_to_async(_stamped_instances)(int(span * self.t.rate))
        self.note(f"{len(ids)} waiting instances created")
        self.began = time.monotonic()
        stop = asyncio.Event()
        streams = [asyncio.create_task(self.traffic(ids, stop))]
        if self.args.scenario == "pg-restart":
            streams.append(asyncio.create_task(self.timers(stop)))
        await asyncio.sleep(self.t.lead)
        await self.bring_fault()
        await asyncio.sleep(self.t.tail)
        stop.set()
        await asyncio.gather(*streams)
        self.note("traffic stopped")
        await asyncio.gather(*self.tasks)
        self.note("every publish answered")
        await self.drain()

    def expected(self) -> list[tuple[int, str]]:
        expected = [(n, node) for n in self.messaged for node in ("receive", "answer")]
        expected += [(n, node) for n in self.timed for node in ("arm", "fire")]
        if self.held_id is not None:
            held = ["hold", *(f"receive-{k}" for k in range(HELD_MESSAGES)), "done"]
            expected += [(HELD_N, node) for node in held]
        return expected

    async def drain(self):
        from channels.db import database_sync_to_async

        deadline = time.monotonic() + self.args.drain
        while time.monotonic() < deadline:
            try:
                counts, _ = await database_sync_to_async(_effects)()
            except Exception:  # the benchmark's own connection, after the restart
                await asyncio.sleep(0.5)
                continue
            if all(counts.get(key) for key in self.expected()):
                self.note("every effect recorded")
                return
            await asyncio.sleep(0.5)
        self.note(f"drain time of {self.args.drain:g} s over")


def tally(faults) -> dict:
    counts, stamped = _effects()
    expected = faults.expected()
    lost = sum(not counts.get(key) for key in expected)
    duplicated = sum(max(0, counts.get(key, 0) - 1) for key in expected)
    began, ended = faults.fault
    after = ended.timestamp() + AFTER_RESTART
    lateness = {"others": [], "others during": [], "held": [], "timers": [], "timers after": [],
                "others after": []}  # fmt: skip
    latest = []
    for n, node, ran, due in stamped:
        late = (ran - due).total_seconds()
        if node == "answer":
            lateness["others"].append(late)
            latest.append((late, n, (due - began).total_seconds()))
            if began <= due <= ended:
                lateness["others during"].append(late)
            if began <= due and due.timestamp() <= after:
                lateness["others after"].append(late)
        elif node.startswith("receive-"):
            lateness["held"].append(late)
        elif node == "fire":
            lateness["timers"].append(late)
            if began <= due and due.timestamp() <= after:
                lateness["timers after"].append(late)
    latest.sort(reverse=True)
    return {"expected": len(expected), "lost": lost, "duplicated": duplicated, "lateness": lateness,
            "latest": latest[:LATEST_SHOWN]}  # fmt: skip


def takeovers(log_dir: Path) -> int:
    logs = log_dir.glob("worker-*.log")
    return sum(path.read_text(errors="replace").count("stopped; taking over") for path in logs)


def benchmark(args, database, redis, log_dir, postgres) -> int:
    import uuid

    from django.db import connection

    from bench.measure import load_average, machine, print_about
    from bench.reliability import WorkerPool, _s, print_count, print_percentiles, summarize_logs
    from bench.reliability_automations import CREATE_EFFECTS, HOLD_FILE

    with connection.cursor() as cursor:
        cursor.execute(CREATE_EFFECTS)
    about = machine(connection)
    own_server = " (its own server)" if postgres else ""
    print_about(f"Django Automations reliability benchmark, scenario {args.scenario}", about, own_server)
    print(f"  redis     {redis.url} (its own redis-server, no persistence)")
    print(f"  load      {about['load']} at the start")
    print()
    hold_file = log_dir / "held.pid"
    os.environ[HOLD_FILE] = str(hold_file)
    pool = WorkerPool(database=database, redis_url=redis.url, log_dir=log_dir)
    pool.start(args.workers)
    faults = Faults(args, pool, uuid.uuid4().hex[:8], hold_file, postgres)
    try:
        asyncio.run(faults.arun())
    finally:
        pool.stop()
    connection.close()
    result = tally(faults)
    t = faults.t
    what = {
        "sigstop": f"one of {args.workers} workers stopped (SIGSTOP) {t.freeze:g} s in the middle of a step",
        "slow-node": f"a node that runs {t.slow:g} s, {args.workers} workers",
        "pg-restart": f"PostgreSQL down {PG_DOWN:g} s, {args.workers} workers",
    }[args.scenario]
    print(f"{what}; messages to other instances at {t.rate}/s, confirm=True:")
    for line in faults.timeline:
        print(f"    {line}")
    print_count("effects expected", result["expected"], None)
    print_count("effects lost", result["lost"])
    print_count("effects duplicated", result["duplicated"])
    for key, count in sorted(faults.counts.items()):
        print_count(f"publishes: {key}", count, 0 if "not confirmed" in key else None)
    print_count("takeovers of a stopped worker (log lines)", takeovers(log_dir), None)
    lateness = result["lateness"]
    print("Lateness (sent -> the released node ran; timers: due -> ran):")
    if args.scenario == "pg-restart":
        print_percentiles("messages sent until 10 s after the restart", lateness["others after"], _s,
                          TARGET_RESTART_P99)  # fmt: skip
        print_percentiles("timers due until 10 s after the restart", lateness["timers after"], _s,
                          TARGET_RESTART_P99)  # fmt: skip
        print_percentiles("all timers", lateness["timers"], _s)
    else:
        print_percentiles("messages to other instances, during the fault", lateness["others during"], _s,
                          TARGET_OTHERS_P99)  # fmt: skip
        print_percentiles("messages to the held instance", lateness["held"], _s)
    print_percentiles("all messages to other instances", lateness["others"], _s)
    print(f"  the {LATEST_SHOWN} latest messages to other instances (sent: seconds after the fault began):")
    for late, n, sent in result["latest"]:
        print(f"    {_s(late):>8} late  n={n:<5} sent {sent:+7.2f} s")
    print()
    lines = summarize_logs(log_dir)
    print(f"Worker log lines (WARNING and above, {pool.spawned} worker processes):")
    for line, count in lines.most_common(10):
        print(f"  {count:>6}  {line}")
    print()
    print(f"load {load_average()} at the end")
    not_confirmed = sum(count for key, count in faults.counts.items() if "not confirmed" in key)
    return 0 if not (result["lost"] or result["duplicated"] or not_confirmed) else 1
