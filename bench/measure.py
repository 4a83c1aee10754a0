"""Measuring tools: SQL statement counts, a shifted clock, medians and the machine's description."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from unittest import mock


class CheckFailed(AssertionError):
    """The engine did not do what a benchmark's workload expects of it."""


class QueryCounter:
    """Count the SQL statements Django sends on ``connection``, by their first keyword.

    This is what Django's ``CaptureQueriesContext`` counts: every ``cursor.execute()``, including
    ``SAVEPOINT`` and ``BEGIN`` statements; ``COMMIT`` is a driver call, not a statement.
    """

    def __init__(self, connection):
        self.connection = connection
        self.kinds = Counter()
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.kinds[sql.split(None, 1)[0].upper()] += 1
        self.statements.append((sql, params))
        return execute(sql, params, many, context)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    @contextmanager
    def counting(self):
        with self.connection.execute_wrapper(self):
            yield self


def count_queries(connection, func):
    """Run ``func()``; return ``(its return value, QueryCounter)``."""
    counter = QueryCounter(connection)
    with counter.counting():
        value = func()
    return value, counter


def timed(func) -> tuple[float, object]:
    """Run ``func()``; return ``(seconds it took, its return value)``."""
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def cpu_timed(func) -> tuple[float, float, object]:
    """Run ``func()``; return ``(wall seconds, CPU seconds of this process, its return value)``."""
    cpu = time.process_time()
    seconds, value = timed(func)
    return seconds, time.process_time() - cpu, value


def percentile(values, fraction: float) -> float:
    """Return the value at ``fraction`` (0.5 for the median) of ``values``, the nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_average() -> str:
    """Return the 1-minute load average and the CPU count, e.g. ``"0.31 on 2 CPUs"``."""
    try:
        load = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        load = "unknown"
    return f"{load} on {os.cpu_count()} CPUs"


@contextmanager
def clock_shifted(offset: timedelta):
    """Make ``django.utils.timezone.now()`` run ``offset`` ahead of the real clock."""
    from django.utils import timezone

    real_now = timezone.now
    with mock.patch.object(timezone, "now", lambda: real_now() + offset):
        yield


@contextmanager
def clock_at(moment):
    """Make ``django.utils.timezone.now()`` return ``moment``, frozen."""
    from django.utils import timezone

    with mock.patch.object(timezone, "now", lambda: moment):
        yield


class Series:
    """Repeated measurements of one figure."""

    def __init__(self, values=()):
        self.values = list(values)

    def add(self, value):
        self.values.append(value)

    @property
    def median(self):
        return statistics.median(self.values)

    @property
    def low(self):
        return min(self.values)

    @property
    def high(self):
        return max(self.values)

    def __len__(self):
        return len(self.values)


def cpu_model() -> str:
    """Return the CPU model name from ``/proc/cpuinfo`` (or what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def print_about(title: str, about: dict, database_note: str = "") -> None:
    """Print a benchmark's ``title`` and the machine, software and database of :func:`machine`."""
    print(title)
    print(f"  machine   {about['cpu']}")
    print(f"  software  {about['python']}")
    print(f"  database  {about['database']}{database_note}")


def machine(connection) -> dict:
    """Describe the machine, the interpreter, Django and the database server."""
    import django

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            journal = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(cursor.fetchone()[0], "?")
            import sqlite3

            database = (
                f"SQLite {sqlite3.sqlite_version}, file database, journal_mode={journal}, "
                f"synchronous={synchronous}"
            )
        else:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}, database {connection.settings_dict['NAME']}"
    return {
        "cpu": f"{cpu_model()} ({os.cpu_count()} CPUs), {platform.system()} {platform.release()}",
        "load": load_average(),
        "python": f"Python {platform.python_version()}, Django {django.get_version()}",
        "database": database,
    }


@contextmanager
def throwaway_database(configure):
    """Set Django up with ``configure(directory)`` and create the benchmark's database; drop both after.

    ``directory`` is a temporary directory (for a SQLite file); yield what ``configure`` returned.
    """
    directory = Path(tempfile.mkdtemp(prefix="automations-bench-"))
    try:
        configured = configure(directory)
        from django.db import connection

        import bench.automations  # noqa: F401 - registers the benchmark's automations

        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            yield configured
        finally:
            connection.close()
            connection.creation.destroy_test_db(old_name, verbosity=0)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def add_database_options(parser, database_name: str) -> None:
    """Add ``--postgres`` and ``--database-name`` (default ``database_name``) to a benchmark's ``parser``."""
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL from DATABASE_URL (else SQLite)")
    parser.add_argument(
        "--database-name", default=database_name, help="its PostgreSQL database, created and dropped"
    )


def run_benchmark(args, benchmark, configure=None) -> int:
    """Run ``benchmark(args, database)`` in a throw-away database set up by ``configure(args, directory)``.

    ``configure`` is ``bench.settings.configure_from_args`` unless given. Return the benchmark's exit
    status, or 1 (with the reason on stderr) if one of its checks failed.
    """
    if configure is None:
        from bench.settings import configure_from_args

        configure = configure_from_args
    try:
        with throwaway_database(lambda directory: configure(args, directory)) as database:
            return benchmark(args, database)
    except CheckFailed as exc:
        print(f"Benchmark check failed: {exc}", file=sys.stderr)
        return 1
