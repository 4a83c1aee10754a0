"""Counting and reporting shared by the workload scripts of the side-by-side benchmark.

Each script runs in its own virtual environment and imports nothing but this module and its own
library. Statements are counted at the driver: every ``execute()`` and ``executemany()`` call on a
psycopg cursor, whoever makes it (the ORM, the library's background threads); on SQLite, every
statement Django sends. ``COMMIT`` sent by the driver's ``commit()`` is not a statement here.
"""

from __future__ import annotations

import itertools
import json
import sys
import time


class StatementCounter:
    """Counts driver-level statements while :attr:`active`."""

    def __init__(self):
        self.active = False
        self._count = itertools.count()
        self._start = 0

    def install(self):
        try:
            import psycopg
        except ImportError:
            psycopg = None
        if psycopg is not None:
            self._wrap(psycopg.Cursor, "execute")
            self._wrap(psycopg.Cursor, "executemany")
        return self

    def install_django(self):
        """Count what Django sends on every connection (for SQLite, whose driver cannot be wrapped)."""
        from django.db import connections
        from django.db.backends.signals import connection_created

        def wrapper(execute, sql, params, many, context):
            self.note()
            return execute(sql, params, many, context)

        def wrap(connection, **kwargs):
            if wrapper not in connection.execute_wrappers:
                connection.execute_wrappers.append(wrapper)

        connection_created.connect(wrap, weak=False)
        for connection in connections.all():
            wrap(connection)
        return self

    def _wrap(self, cls, name):
        original = getattr(cls, name)
        counter = self

        def counted(cursor, *args, **kwargs):
            counter.note()
            return original(cursor, *args, **kwargs)

        setattr(cls, name, counted)

    def note(self):
        if self.active:
            next(self._count)

    def start(self):
        self._start = next(self._count)
        self.active = True

    def stop(self) -> int:
        self.active = False
        return next(self._count) - self._start - 1


def measured(counter: StatementCounter, func):
    """Run ``func()`` counting statements; return ``(wall s, CPU s of this process, statements, value)``."""
    cpu, wall = time.process_time(), time.perf_counter()
    counter.start()
    value = func()
    statements = counter.stop()
    return time.perf_counter() - wall, time.process_time() - cpu, statements, value


def paced(count: int, spread: float, start):
    """Call ``start()`` ``count`` times, one after another, the n-th ``n * spread / count`` seconds after
    the first (at once when behind); return the list of what it returned.

    The sleepers of the ``staggered-sleeps`` scenario are started so: spread over ``spread`` seconds,
    the earlier ones fall due while the later ones are still being started.
    """
    began, values = time.monotonic(), []
    for number in range(count):
        delay = began + number * spread / count - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        values.append(start())
    return values


def report(**figures):
    """Print the figures as the one JSON line the benchmark reads (the last line of stdout)."""
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


def check(condition: bool, message: str):
    if not condition:
        raise SystemExit(f"check failed: {message}")
