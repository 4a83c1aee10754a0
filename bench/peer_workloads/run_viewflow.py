"""Viewflow's side of the side-by-side benchmark (``bench/peers.py`` starts it in its own venv).

    python run_viewflow.py --database-url URL --scenario steps --workflows 300

Written against Viewflow's documented workflow API (``flow.Flow``, ``StartHandle`` started with
``.run()``, ``Function``, ``Split``, ``Join``, ``End``, the ``Process`` model's ``data``), with
Django on the PostgreSQL database of ``--database-url``. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import urlsplit

from counting import StatementCounter, check, measured, report

STEPS = 10


def configure(url: str) -> None:
    import django
    from django.conf import settings

    parts = urlsplit(url)
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "viewflow",
            "viewflow.workflow",
            "viewflow_bench",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": parts.path.lstrip("/"),
                "USER": parts.username or "",
                "PASSWORD": parts.password or "",
                "HOST": parts.hostname or "",
                "PORT": parts.port or "",
            }
        },
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def run_all(flow_class, workflows, total):
    seconds, cpu, statements, processes = measured(
        COUNTER, lambda: [flow_class.start.run() for _ in range(workflows)]
    )
    from viewflow.workflow.models import Process

    done = Process.objects.filter(pk__in=[process.pk for process in processes], status="DONE")
    check(
        sum(process.data.get("total") == total for process in done) == workflows,
        f"every process finished with {total}",
    )
    return seconds, cpu, statements


def steps(workflows):
    from viewflow_bench.flows import TenStepsFlow

    seconds, cpu, statements = run_all(TenStepsFlow, workflows, 55)
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows * STEPS}


def fanout(workflows):
    from viewflow_bench.flows import FanOutFlow

    seconds, cpu, statements = run_all(FanOutFlow, workflows, 10)
    return {"seconds": seconds, "cpu": cpu, "statements": statements, "units": workflows}


SCENARIOS = {"steps": steps, "fanout": fanout}
COUNTER = StatementCounter()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true", help="migrate the database and leave")
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--workflows", type=int, default=300)
    args = parser.parse_args(argv)
    configure(args.database_url)
    if args.prepare:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return 0
    COUNTER.install()
    began = time.perf_counter()
    figures = SCENARIOS[args.scenario](args.workflows)
    report(side="viewflow", scenario=args.scenario, elapsed=time.perf_counter() - began, **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
