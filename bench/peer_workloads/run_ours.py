"""Django Automations' side of the side-by-side benchmark (``bench/peers.py`` starts it).

    python bench/peer_workloads/run_ours.py --database-url URL --scenario saving-steps --workflows 300

Runs in the project's own environment, on the database of ``--database-url`` (migrated with
``--prepare``), and prints one JSON line of figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from counting import StatementCounter, check, measured, paced, report  # noqa: E402

STEPS = 10
FAN_OUT_TOTAL = 1 + 2 + 3 + 4


def sleep_lead(workflows: int) -> float:
    """Seconds from the first start to the moment all sleepers are asleep (time enough to start all)."""
    return 1 + 0.06 * workflows


def configure(url: str, journal: str) -> None:
    import django
    from django.conf import settings

    from bench import settings as bench_settings

    if url.startswith("sqlite:///"):
        database = bench_settings.site.sqlite_database(url.removeprefix("sqlite:///"))
        if journal == "default":  # SQLite's own defaults: rollback journal, synchronous=FULL
            database["OPTIONS"].pop("init_command", None)
    else:
        database = bench_settings.site.database_from_url(url, None)
    settings.configure(**bench_settings.build(database))
    django.setup()
    import bench.automations  # noqa: F401 - registers the benchmark's automations


def steps(counter, workflows, automation="TenSavingSteps"):
    """``TenSavingSteps`` (each node saves the instance's data) or ``TenSteps`` (saving nothing)."""
    from automations.models import AutomationModel
    from bench import automations

    cls = getattr(automations, automation)
    seconds, cpu, statements, started = measured(counter, lambda: [cls() for _ in range(workflows)])
    ids = [instance.id for instance in started]
    rows = AutomationModel.objects.filter(pk__in=ids, finished=True)
    check(sum(row.data.get("total") == 55 for row in rows) == workflows, "every workflow finished with 55")
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows * STEPS}


def fanout(counter, workflows):
    """``FanOutFour``: each of the four branches adds to the instance's data and saves it."""
    from automations.models import AutomationModel
    from bench.automations import FanOutFour

    seconds, cpu, statements, started = measured(counter, lambda: [FanOutFour() for _ in range(workflows)])
    rows = AutomationModel.objects.filter(pk__in=[instance.id for instance in started], finished=True)
    check(sum(row.data.get("total") == FAN_OUT_TOTAL for row in rows) == workflows, "every join completed")
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows}


def woken_lateness(ids, workflows):
    """Check that every sleeper finished and saved its lateness; return each one's lateness (ms)."""
    from automations.models import AutomationModel, AutomationTaskModel

    finished = AutomationModel.objects.filter(pk__in=ids, finished=True)
    missing = workflows - finished.count()
    check(not missing, f"{missing} of {workflows} sleepers did not finish")
    unsaved = workflows - sum("lateness_ms" in data for data in finished.values_list("data", flat=True))
    check(not unsaved, f"{unsaved} of {workflows} woken nodes did not save the instance's data")
    lateness = AutomationTaskModel.objects.filter(automation_id__in=ids, status="sleep").values_list(
        "result", flat=True
    )
    return list(lateness)


def sleeps(counter, workflows):
    """All sleepers go to sleep at one moment (a frozen clock), so that all are due 1 s later at once."""
    from django.utils import timezone

    from bench.automations import SecondSleeper
    from bench.latency import _until_finished, in_process_scheduler
    from bench.measure import clock_at

    pending = [SecondSleeper(autorun=False) for _ in range(workflows)]
    lead = sleep_lead(workflows)
    asleep_at = timezone.now() + timedelta(seconds=lead)
    with clock_at(asleep_at):
        for instance in pending:
            instance.run()
    ids = [instance.id for instance in pending]
    due = asleep_at + timedelta(seconds=1)
    check(timezone.now() < due, f"putting {workflows} to sleep took longer than {lead + 1:g} s")

    async def wake():
        async with in_process_scheduler():
            await asyncio.sleep(max(0.0, (due - timezone.now()).total_seconds()))
            await _until_finished(ids, timeout=60)

    asyncio.run(wake())
    return {"lateness_ms": woken_lateness(ids, workflows), "units": workflows}


def staggered_sleeps(counter, workflows, spread):
    """Sleepers started one after another over ``spread`` seconds while the scheduler runs in this
    process (in-memory layer, as in embedded mode): the earlier ones fall due while later ones start.

    The starts run in a thread of their own, as a web server's requests would beside its scheduler.
    """
    from django.db import connections

    from bench.automations import SecondSleeper
    from bench.latency import _until_finished, in_process_scheduler

    def start_all():
        try:
            return paced(workflows, spread, lambda: SecondSleeper().id)
        finally:
            connections.close_all()  # this thread's own

    async def run():
        async with in_process_scheduler():
            ids = await asyncio.to_thread(start_all)
            await _until_finished(ids, timeout=60)
        return ids

    ids = asyncio.run(run())
    return {"lateness_ms": woken_lateness(ids, workflows), "units": workflows}


SCENARIOS = {
    "saving-steps": lambda counter, workflows, spread: steps(counter, workflows, "TenSavingSteps"),
    "steps": lambda counter, workflows, spread: steps(counter, workflows, "TenSteps"),
    "fanout": lambda counter, workflows, spread: fanout(counter, workflows),
    "sleeps": lambda counter, workflows, spread: sleeps(counter, workflows),
    "staggered-sleeps": staggered_sleeps,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--journal",
        choices=("site", "default"),
        default="site",
        help="SQLite: the site's settings (WAL) or SQLite's defaults",
    )
    parser.add_argument("--prepare", action="store_true", help="migrate the database and leave")
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--workflows", type=int, default=300)
    parser.add_argument(
        "--spread", type=float, default=4.0, help="staggered-sleeps: seconds over which the starts are spread"
    )
    args = parser.parse_args(argv)
    configure(args.database_url, args.journal)
    if args.prepare:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return 0
    from django.db import connection

    counter = StatementCounter()
    counter.install_django() if connection.vendor == "sqlite" else counter.install()
    began = time.perf_counter()
    figures = SCENARIOS[args.scenario](counter, args.workflows, args.spread)
    report(side="ours", scenario=args.scenario, elapsed=time.perf_counter() - began, **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
