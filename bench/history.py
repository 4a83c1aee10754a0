"""History at scale: the database's size per 1,000 finished instances, and deleting many in batches.

    .venv/bin/python bench/history.py                     # SQLite file
    .venv/bin/python bench/history.py --postgres          # PostgreSQL from DATABASE_URL

1. **Size**: ``--sized`` (default 1,000) ``TenSteps`` instances are run to their end through the
   engine; the size of the automations tables and their indexes is measured before and after
   (SQLite: the pages of each table and index, from ``dbstat``; PostgreSQL: ``pg_relation_size`` of
   each table, its TOAST and each index) and printed per 1,000 instances.
2. **Deleting**: ``--instances`` (default 100,000) copies of a finished ``TenSteps`` (the instance and
   its 11 task rows), 40 days old, are added with ``bulk_create``; then
   ``AutomationModel.delete_history(days=30)`` deletes them in batches while another thread starts
   and runs a ``TenSteps`` every 20 ms. Printed: the total time, the batches and their longest
   transaction, and how long the steps took meanwhile compared with before. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import timedelta

if __package__ in (None, ""):  # run as a script: import the project, not this directory's modules
    from script_path import use_project_root

    use_project_root()

STEP_EVERY = 0.020
AGE = timedelta(days=40)
CHUNK = 2000


def parse_args(argv=None) -> argparse.Namespace:
    from bench.measure import add_database_options

    parser = argparse.ArgumentParser(description="Size of finished instances, and deleting them in batches.")
    add_database_options(parser, "atm_bench_history")
    parser.add_argument("--sized", type=int, default=1000, help="instances whose size is measured (1000)")
    parser.add_argument("--instances", type=int, default=100_000, help="finished instances deleted (100000)")
    parser.add_argument("--batch-size", type=int, default=None, help="instances per batch (ATM_DELETE_BATCH)")
    return parser.parse_args(argv)


# -- size -----------------------------------------------------------------------------------------


def _tables():
    from automations.models import AuditEntry, AutomationModel, AutomationTaskModel

    return [model._meta.db_table for model in (AutomationModel, AutomationTaskModel, AuditEntry)]


def relation_sizes() -> dict[str, int]:
    """Return the bytes of each automations table and index (PostgreSQL: tables with their TOAST)."""
    from django.db import connection

    tables = _tables()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(f"SELECT name FROM sqlite_master WHERE tbl_name IN ({marks})", tables)
            names = [row[0] for row in cursor.fetchall()]
            marks = ", ".join(["%s"] * len(names))
            query = f"SELECT name, SUM(pgsize) FROM dbstat WHERE name IN ({marks}) GROUP BY name"
            cursor.execute(query, names)
            return dict(cursor.fetchall())
        sizes = {}
        for table in tables:
            cursor.execute("SELECT pg_table_size(%s)", [table])
            sizes[table] = cursor.fetchone()[0]
            cursor.execute("SELECT indexname, pg_relation_size(indexname::regclass) FROM pg_indexes "
                           "WHERE tablename = %s", [table])  # fmt: skip
            sizes.update(cursor.fetchall())
        return sizes


def measure_size(count: int) -> dict:
    """Run ``count`` ``TenSteps`` to their end; return the bytes each relation grew by, per 1,000."""
    from django.db import connection

    from automations.models import AutomationModel
    from bench.automations import TenSteps
    from bench.measure import CheckFailed

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    before = relation_sizes()
    ids = [TenSteps().id for _ in range(count)]
    if AutomationModel.objects.filter(pk__in=ids, status=AutomationModel.Status.FINISHED).count() != count:
        raise CheckFailed("Not every TenSteps instance finished.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {', '.join(_tables())}")
    after = relation_sizes()
    return {name: (after[name] - before.get(name, 0)) * 1000 / count for name in after}


# -- deleting -------------------------------------------------------------------------------------


def add_finished(count: int) -> None:
    """Add ``count`` copies of a finished ``TenSteps``, each last updated ``AGE`` ago, 10 ms apart."""
    from django.db import transaction
    from django.db.models import F

    from automations.models import AutomationModel, AutomationTaskModel, new_key
    from bench.automations import TenSteps
    from bench.population import _shifted_copy

    original = TenSteps().id
    row = AutomationModel.objects.get(pk=original)
    tasks = list(AutomationTaskModel.objects.filter(automation_id=original).order_by("pk"))
    for start in range(0, count, CHUNK):
        indexes = range(start, min(start + CHUNK, count))
        shifts = [-AGE - index * timedelta(milliseconds=10) for index in indexes]
        with transaction.atomic():
            rows = AutomationModel.objects.bulk_create([_shifted_copy(row, s, key=new_key()) for s in shifts])
            AutomationModel.objects.filter(pk__in=[r.pk for r in rows]).update(
                created=F("created") - AGE, updated=F("updated") - AGE
            )
            copies = zip(rows, shifts, strict=True)
            AutomationTaskModel.objects.bulk_create(
                [_shifted_copy(task, s, automation_id=r.pk) for r, s in copies for task in tasks]
            )
    AutomationModel.objects.filter(pk=original).delete()


class Stepper(threading.Thread):
    """Start and run a ``TenSteps`` every ``STEP_EVERY`` seconds until stopped; time each."""

    def __init__(self):
        super().__init__(daemon=True)
        self.times: list[float] = []
        self.ids: list[int] = []
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self):
        from django.db import connection

        from bench.automations import TenSteps

        try:
            while not self.stopping.is_set():
                began = time.perf_counter()
                self.ids.append(TenSteps().id)
                self.times.append(time.perf_counter() - began)
                self.stopping.wait(STEP_EVERY)
        except BaseException as exc:  # reported by the main thread
            self.failure = exc
        finally:
            connection.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.join()


def steps_alone(seconds: float) -> list[float]:
    with Stepper() as stepper:
        time.sleep(seconds)
    return stepper.times


def measure_delete(count: int, batch_size) -> dict:
    from automations.models import AutomationModel
    from bench.measure import CheckFailed

    add_finished(count)
    quiet = steps_alone(2.0)
    batches = []
    with Stepper() as stepper:
        began = time.perf_counter()
        _, counts = AutomationModel.delete_history(days=30, batch_size=batch_size, progress=batches.append)
        seconds = time.perf_counter() - began
    if stepper.failure is not None:
        raise CheckFailed(f"A step failed while deleting: {stepper.failure!r}")
    deleted = counts.get("automations.AutomationModel", 0)
    left = AutomationModel.objects.exclude(status=AutomationModel.Status.FINISHED).count()
    ran = AutomationModel.objects.filter(pk__in=stepper.ids, status=AutomationModel.Status.FINISHED).count()
    if deleted != count or left or ran != len(stepper.ids):
        raise CheckFailed(f"Deleted {deleted} of {count}; {ran} of {len(stepper.ids)} steps finished.")
    return {"seconds": seconds, "counts": counts, "batches": batches, "quiet": quiet, "during": stepper.times}


# -- report ---------------------------------------------------------------------------------------


def _ms(seconds):
    return f"{seconds * 1000:7.1f} ms"


def _steps(label, times):
    from bench.measure import percentile

    return (f"  {label:<26} {len(times):5d} steps: p50 {_ms(percentile(times, 0.5))}  "
            f"p99 {_ms(percentile(times, 0.99))}  max {_ms(max(times))}")  # fmt: skip


def benchmark(args, database) -> int:
    from django.db import connection

    from bench.measure import load_average, machine, percentile, print_about

    about = machine(connection)
    print_about("Django Automations: history at scale", about)
    print(f"  load      {about['load']} at the start")
    sizes = measure_size(args.sized)
    print(f"Size per 1,000 finished TenSteps (11 task rows each), from {args.sized} run through the engine:")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"  {name:<40} {size / 1024:9.1f} KiB")
    print(f"  {'all':<40} {sum(sizes.values()) / 1024:9.1f} KiB")
    result = measure_delete(args.instances, args.batch_size)
    batches = result["batches"]
    longest = max(batch.seconds for batch in batches)
    rate = args.instances / result["seconds"]
    print(f"Deleting {args.instances} finished instances with their tasks (delete_history, days=30):")
    rows = sum(result["counts"].values())
    print(f"  total {result['seconds']:.2f} s ({rate:,.0f} instances/s), {rows} rows")
    low, high = min(b.rows for b in batches), max(b.rows for b in batches)
    middle = percentile([b.seconds for b in batches], 0.5)
    print(f"  {len(batches)} batches of {low}-{high} instances; "
          f"transaction p50 {_ms(middle)}, longest {_ms(longest)}")  # fmt: skip
    print(_steps("steps before deleting", result["quiet"]))
    print(_steps("steps while deleting", result["during"]))
    print(f"load {load_average()} at the end")
    return 0


def main(argv=None) -> int:
    from bench.measure import run_benchmark

    return run_benchmark(parse_args(argv), benchmark)


if __name__ == "__main__":
    sys.exit(main())
