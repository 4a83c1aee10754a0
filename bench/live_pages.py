"""Live pages: an event until an open instance page, and the console's instances list, show it.

    .venv/bin/python bench/live_pages.py --postgres --redis   # 4 automation_worker processes and daphne
    .venv/bin/python bench/live_pages.py                      # SQLite, in-memory layer, automation_server
    .venv/bin/python bench/live_pages.py --quick              # a small run (the smoke test's)

Creates a database of its own like ``bench/runtime.py`` and drops it at the end. See bench/README.md,
"Live pages".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

ROOT = Path(__file__).resolve().parent.parent
TARGET_PAGE_P99 = 0.250
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
WAIT = 20.0  # seconds a page may take to show an event before the benchmark fails
SETTLE = 0.3  # seconds between opening the pages and the first event of a round

# Injected into every page before its own scripts: notes, in the page's clock (epoch milliseconds),
# each socket message as it arrives, each console refresh's fetch, and each change of what the
# page shows (the instance page's data-atm-state, the state badge of each row of the instances list).
RECORDER = """
(function () {
  "use strict";
  var notes = window.atmNotes = [];
  function now() { return performance.timeOrigin + performance.now(); }
  var NativeSocket = window.WebSocket;
  function RecordingSocket(url, protocols) {
    var socket = protocols === undefined ? new NativeSocket(url) : new NativeSocket(url, protocols);
    socket.addEventListener("message", function (event) {
      var at = now(), message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      notes.push({what: "socket", type: message.type, automation: message.automation,
                  state: message.state, at: at});
    });
    return socket;
  }
  RecordingSocket.prototype = NativeSocket.prototype;
  window.WebSocket = RecordingSocket;
  var nativeFetch = window.fetch;
  window.fetch = function () {
    notes.push({what: "fetch", at: now()});
    return nativeFetch.apply(this, arguments);
  };
  function painted(note) {
    notes.push(note);
    requestAnimationFrame(function () { note.frame = now(); });
  }
  function watchInstancePage(page) {
    new MutationObserver(function () {
      painted({what: "page", automation: Number(page.getAttribute("data-atm-instance-page")),
               state: page.getAttribute("data-atm-state"), at: now()});
    }).observe(page, {attributes: true, attributeFilter: ["data-atm-state"]});
  }
  function watchList(region) {
    var shown = {};
    function scan() {
      var at = now();
      region.querySelectorAll("tr[data-atm-instance]").forEach(function (row) {
        var badge = row.querySelector(".atm-badge"), id = row.getAttribute("data-atm-instance");
        var state = badge ? (badge.className.match(/atm-state-(\\S+)/) || [])[1] : null;
        if (shown[id] !== state) {
          shown[id] = state;
          painted({what: "row", automation: Number(id), state: state, at: at});
        }
      });
    }
    scan();
    new MutationObserver(scan).observe(region, {childList: true, subtree: true});
  }
  document.addEventListener("DOMContentLoaded", function () {
    var page = document.querySelector("[data-atm-instance-page]");
    if (page) watchInstancePage(page);
    var region = document.getElementById("atm-instances-live");
    if (region) watchList(region);
  });
})();
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Event -> live page in a browser: instance pages and the console."
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL from DATABASE_URL (else SQLite)")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="Redis (REDIS_URL, default redis://127.0.0.1:6379/0) with --workers automation_worker "
        "processes and daphne; needs --postgres (else the in-memory layer and automation_server)",
    )
    parser.add_argument(
        "--database-name", default="atm_bench_live", help="its PostgreSQL database (dropped after)"
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="automation_worker processes with --redis (default 4)"
    )
    parser.add_argument(
        "--pages", type=int, default=10, help="instance pages open at once (default 10, at most 25)"
    )
    parser.add_argument(
        "--rounds", type=int, default=15, help="rounds of spaced events, one per open page each (default 15)"
    )
    parser.add_argument(
        "--spacing", type=float, default=0.3, help="seconds between spaced events (default 0.3)"
    )
    parser.add_argument(
        "--bursts",
        type=int,
        default=3,
        help="rounds whose events, one per open page, are published at once (default 3)",
    )
    parser.add_argument(
        "--renders",
        type=int,
        default=50,
        help="times the instance page's socket message is rendered in this process (default 50)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small run: 3 pages, 2 spaced rounds, 1 burst, 5 renders"
    )
    args = parser.parse_args(argv)
    if args.redis and not args.postgres:
        parser.error("--redis needs --postgres: the worker processes share the database")
    if not 1 <= args.pages <= 25:
        parser.error("--pages must be 1 to 25 (the instances list shows 25 rows a page)")
    if args.quick:
        args.pages, args.rounds, args.bursts, args.renders, args.spacing = 3, 2, 1, 5, 0.2
    args.redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return args


def configure(args, directory: Path) -> dict:
    from django.conf import settings

    from bench.settings import configure_from_args

    database = configure_from_args(args, directory)
    if args.redis:  # a channel of the run's own, which only its workers read
        settings.ATM_CHANNEL_NAME = f"automations.bench-live-{uuid.uuid4().hex[:8]}"
    return database


# -- the server --------------------------------------------------------------------------------------


class Server:
    """The site in a process of its own: daphne (Redis), or ``automation_server`` (in-memory layer)."""

    def __init__(self, database: dict, redis_url: str | None):
        from bench.workers import database_url
        from tests.people.live_server import free_port

        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile(mode="w+")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.server_settings",
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url or "",
            "DJANGO_HTTPS": "0",
            "ATM_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        if redis_url:  # the workers run the steps; the server only serves
            command = [sys.executable, "-m", "tests.people.live_server", str(port)]
        else:  # the worker runs in the server, where the in-memory layer reaches it
            command = [sys.executable, "manage.py", "automation_server", "--noreload", "--insecure",
                       f"127.0.0.1:{port}"]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)

    def __enter__(self):
        from tests.people.live_server import wait_until_up

        try:
            wait_until_up(self.url, self.process, 60, path="/bench/ping")
        except BaseException:
            self.log.seek(0)
            print(self.log.read()[-3000:], file=sys.stderr)
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        from tests.people.live_server import stop

        stop(self.process)
        self.log.close()


# -- publishing ---------------------------------------------------------------------------------------


class Publisher:
    """Publishes ``go`` messages as a service would and notes when (``time.time()``, just before sending).

    With Redis, from an event loop in a thread of this process (Playwright's sync API keeps one in the
    main thread); with the in-memory layer, through the server's ``bench/publish`` view.
    """

    def __init__(self, server_url: str, redis: bool):
        self.server_url, self.redis = server_url, redis
        if redis:
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()

    def send(self, ids) -> dict[int, float]:
        """Publish to every instance of ``ids`` at once; return when each was sent."""
        if not self.redis:
            query = ",".join(str(automation_id) for automation_id in ids)
            with urllib.request.urlopen(
                f"{self.server_url}/bench/publish?ids={query}", timeout=30
            ) as response:
                return {automation_id: at for automation_id, at in json.loads(response.read())["sent"]}
        return asyncio.run_coroutine_threadsafe(self._send(ids), self.loop).result(30)

    async def _send(self, ids):
        from automations import events

        sent = {}
        for automation_id in ids:
            event = {"type": events.MESSAGE, "automation": automation_id, "message": "go", "token": "bench"}
            sent[automation_id] = time.time()
            await events.apublish(event)
        return sent

    def close(self):
        if self.redis:
            from channels.layers import get_channel_layer

            layer = get_channel_layer()
            if hasattr(layer, "close_pools"):
                asyncio.run_coroutine_threadsafe(layer.close_pools(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


class Commits:
    """When each instance's step committed, by the benchmark's clock (PostgreSQL ``NOTIFY``); else nothing."""

    def __init__(self, connection):
        self.listener = None
        if connection.vendor == "postgresql":
            from bench.latency import CommitListener

            self.offset = time.time() - time.perf_counter()
            self.listener = CommitListener(connection.settings_dict)

    def at(self, automation_id) -> float | None:
        if self.listener is None or automation_id not in self.listener.pinged:
            return None
        return self.listener.pinged[automation_id] + self.offset

    def close(self):
        if self.listener is not None:
            self.listener.close()


# -- the browser ---------------------------------------------------------------------------------------


def watcher():
    from django.contrib.auth.models import User

    return User.objects.create_superuser("live-watcher", password=uuid.uuid4().hex)


def open_page(browser, url, user):
    from tests.people.live_server import logged_in_page

    page = logged_in_page(browser, url, user, timeout_ms=int(WAIT * 1000))
    page.add_init_script(RECORDER)
    return page


def clock_offset(page) -> tuple[float, float]:
    """Return (the page's clock minus ``time.time()``, half the round trip that read it), in seconds.

    Of three readings, the one with the shortest round trip.
    """
    readings = []
    for _ in range(3):
        before = time.time()
        shown = page.evaluate("performance.timeOrigin + performance.now()") / 1000
        after = time.time()
        readings.append(((after - before) / 2, shown - (before + after) / 2))
    half, offset = min(readings)
    return offset, half


def notes(page) -> list[dict]:
    return page.evaluate("window.atmNotes.splice(0)")


def first(entries, **match):
    for entry in entries:
        if all(entry.get(key) == value for key, value in match.items()):
            return entry
    return None


class Round:
    """One round: a new instance per open page, the pages opened on them, then one event each."""

    def __init__(self, bench, burst: bool):
        from bench.automations import Released

        self.bench, self.burst = bench, burst
        self.ids = [Released().id for _ in bench.pages]  # each stops waiting for the message go
        for page, automation_id in zip(bench.pages, self.ids, strict=True):
            page.goto(f"{bench.url}/automations/instances/{automation_id}/")
            page.wait_for_selector(
                '[data-atm-instance-page][data-atm-state="waiting_for_message"]', state="attached"
            )
            bench.clock_offsets.append(clock_offset(page))
        bench.console.goto(bench.console_url)
        bench.console.wait_for_selector(
            '[data-atm-console-socket][data-atm-live="connected"]', state="attached"
        )
        for automation_id in self.ids:
            bench.console.wait_for_selector(
                f'tr[data-atm-instance="{automation_id}"] .atm-state-waiting_for_message', state="attached"
            )
        for page in [*bench.pages, bench.console]:
            notes(page)  # what opening them noted
        time.sleep(SETTLE)

    def run(self) -> list[dict]:
        bench = self.bench
        if self.burst:
            sent = bench.publisher.send(self.ids)
        else:
            sent = {}
            for automation_id in self.ids:
                sent.update(bench.publisher.send([automation_id]))
                time.sleep(bench.args.spacing)
        for page in bench.pages:
            page.wait_for_selector('[data-atm-instance-page][data-atm-state="finished"]', state="attached")
        for automation_id in self.ids:
            bench.console.wait_for_selector(
                f'tr[data-atm-instance="{automation_id}"] .atm-state-finished', state="attached"
            )
        console = notes(bench.console)
        samples = []
        for page, automation_id in zip(bench.pages, self.ids, strict=True):
            seen = notes(page)
            shown = first(seen, what="page", state="finished")
            arrived = first(seen, what="socket", type="diagram", state="finished")
            row = first(console, what="row", automation=automation_id, state="finished")
            hints = [note for note in console if note["what"] == "socket" and note["at"] <= row["at"]]
            samples.append(
                {
                    "sent": sent[automation_id] * 1000,
                    "ran": self.node_ran(automation_id),
                    "committed": _ms(bench.commits.at(automation_id)),
                    "arrived": arrived["at"] if arrived else None,
                    "shown": shown["at"],
                    "frame": shown.get("frame"),
                    "hint": hints[-1]["at"] if hints else None,
                    "row": row["at"],
                }
            )
        return samples

    @staticmethod
    def node_ran(automation_id) -> float:
        from automations.models import AutomationTaskModel

        return AutomationTaskModel.objects.get(automation_id=automation_id, status="answer").result * 1000


def _ms(seconds):
    return None if seconds is None else seconds * 1000


class Bench:
    def __init__(self, args, url, browser, publisher, commits):
        from bench.automations import Released

        self.args, self.url, self.publisher, self.commits = args, url, publisher, commits
        user = watcher()
        self.pages = [open_page(browser, url, user) for _ in range(args.pages)]
        self.console = open_page(browser, url, user)
        self.console_url = f"{url}/automations/instances/?automation={Released.get_automation_class_name()}"
        self.clock_offsets: list[tuple[float, float]] = []

    def rounds(self, count: int, burst: bool) -> list[dict]:
        samples = []
        for _ in range(count):
            samples.extend(Round(self, burst).run())
        return samples


# -- what a socket message costs the server ----------------------------------------------------------------


def render_times(count: int, user) -> list[float]:
    """Seconds the instance page's socket takes to read and render one message, in this process."""
    from bench.automations import Released
    from consumers.instance_page import InstancePageConsumer

    automation = Released()
    consumer = InstancePageConsumer()
    consumer.session_key, consumer.user_id = None, user.pk
    consumer.automation_id, consumer.language = automation.id, "en"
    times = []
    for _ in range(count + 2):
        began = time.perf_counter()
        message, _code = consumer.diagram_message()
        times.append(time.perf_counter() - began)
        assert message is not None
    return times[2:]


# -- the report -----------------------------------------------------------------------------------------


def spans(samples, start: str, end: str) -> list[float]:
    return [
        sample[end] - sample[start]
        for sample in samples
        if sample[start] is not None and sample[end] is not None
    ]


def print_percentiles(title, values, target=None):
    from bench.measure import percentile

    if not values:
        print(f"  {title:<46} no samples")
        return
    figures = "  ".join(f"p{p} {percentile(values, p / 100):7.1f}" for p in (50, 95, 99))
    line = f"  {title:<46} {figures}  max {max(values):7.1f} ms  ({len(values)})"
    if target is not None:
        verdict = "met" if percentile(values, 0.99) <= target * 1000 else "MISSED"
        line += f"  target p99 <= {target * 1000:g} ms: {verdict}"
    print(line)


def report(spaced, burst):
    for title, samples in (("spaced", spaced), ("burst", burst)):
        if not samples:
            continue
        print(f"  {title}:")
        print_percentiles("event -> instance page shows it", spans(samples, "sent", "shown"), TARGET_PAGE_P99)
        print_percentiles("  event -> node ran (worker)", spans(samples, "sent", "ran"))
        print_percentiles("  node ran -> step committed", spans(samples, "ran", "committed"))
        print_percentiles(
            "  step committed -> socket message in the page", spans(samples, "committed", "arrived")
        )
        print_percentiles("  node ran -> socket message in the page", spans(samples, "ran", "arrived"))
        print_percentiles("  socket message -> page updated", spans(samples, "arrived", "shown"))
        print_percentiles("  page updated -> next frame", spans(samples, "shown", "frame"))
        print_percentiles("event -> console list row shows it", spans(samples, "sent", "row"))
        print_percentiles("  event -> the console socket's hint", spans(samples, "sent", "hint"))
        print_percentiles("  hint -> row updated (fetch and replace)", spans(samples, "hint", "row"))


def benchmark(args, database) -> int:
    from django.db import connection, connections
    from playwright.sync_api import sync_playwright

    from bench.measure import machine, print_about
    from bench.workers import Workers

    about = machine(connection)
    layer = (
        f"Redis ({args.redis_url}), {args.workers} automation_worker processes, daphne"
        if args.redis
        else ("in-memory layer, automation_server (the worker in the server process)")
    )
    print_about("Django Automations: event -> live page in a browser", about)
    print(f"  runtime   {layer}")
    print(f"  browser   headless {CHROMIUM}, {args.pages} instance pages and the instances list open")
    print(f"  load      {about['load']} at the start")
    workers = None
    if args.redis:
        from django.conf import settings

        workers = Workers(
            [settings.ATM_CHANNEL_NAME] * args.workers, database=database, redis_url=args.redis_url
        )
    commits = Commits(connection)
    try:
        with workers or _nothing(), Server(database, args.redis_url if args.redis else None) as server:
            publisher = Publisher(server.url, args.redis)
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    bench = Bench(args, server.url, browser, publisher, commits)
                    bench.rounds(1, burst=False)  # warms up the server, the workers and the pages
                    spaced = bench.rounds(args.rounds, burst=False)
                    burst = bench.rounds(args.bursts, burst=True)
                    browser.close()
                    connections.close_all()  # those opened while Playwright's loop ran have their own
            finally:
                publisher.close()
    finally:
        commits.close()
    from django.contrib.auth.models import User

    renders = render_times(args.renders, User.objects.get(username="live-watcher"))
    offsets = [abs(offset) * 1000 for offset, _ in bench.clock_offsets]
    uncertainty = max(half * 1000 for _, half in bench.clock_offsets)
    print(f"  clock     page clock - time.time(): at most {max(offsets):.1f} ms apart, read to within "
          f"{uncertainty:.1f} ms ({len(offsets)} page loads)")  # fmt: skip
    print()
    print(
        f"{len(spaced)} events spaced {args.spacing:g} s apart ({args.rounds} rounds of {args.pages}), "
        f"{len(burst)} in bursts ({args.bursts} of {args.pages} at once); milliseconds:"
    )
    report(spaced, burst)
    print_percentiles("rendering one socket message (in this process)", [t * 1000 for t in renders])
    print()
    from bench.measure import load_average

    print(f"load {load_average()} at the end")
    return 0


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    args = parse_args(argv)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM next to Playwright's sync API
    return run_benchmark(args, benchmark, configure)


if __name__ == "__main__":
    sys.exit(main())
