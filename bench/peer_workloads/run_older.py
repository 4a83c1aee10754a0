"""The older implementation's side of the comparison (``bench/peers.py --older`` starts it).

    python run_older.py --database-url sqlite:///PATH --workflows 200

Runs in a virtual environment of its own with the older ``django-automations`` 0.9 from PyPI,
used as a black box through its documented API only (``older_bench/automations.py``), on a SQLite
file with SQLite's default settings. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import time

from counting import StatementCounter, check, measured, report

NODES = 11  # ten Execute nodes and the End


def configure(path: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "automations",
            "older_bench",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": path}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true", help="migrate the database and leave")
    parser.add_argument("--workflows", type=int, default=200)
    args = parser.parse_args(argv)
    configure(args.database_url.removeprefix("sqlite:///"))
    if args.prepare:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return 0
    from older_bench.automations import TenSteps

    counter = StatementCounter().install_django()
    began = time.perf_counter()
    seconds, cpu, statements, started = measured(counter, lambda: [TenSteps() for _ in range(args.workflows)])
    check(all(instance.data.get("total") == 55 for instance in started), "every instance summed to 55")
    check(all(instance.finished() for instance in started), "every instance finished")
    report(
        side="older",
        scenario="steps",
        elapsed=time.perf_counter() - began,
        seconds=seconds,
        cpu=cpu,
        statements=statements,
        units=args.workflows * NODES,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
