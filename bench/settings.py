"""Settings of the benchmark: the site's settings, with a throw-away database of the benchmark's own.

``bench/run.py`` passes :func:`build` to ``django.conf.settings.configure()``; the database is
created (and migrated) by Django's test-database machinery under the name given here, and dropped
when the benchmark ends, so the development database is never touched.
"""

import os
from pathlib import Path

# The site's settings need a secret key without DEBUG; the benchmark signs nothing that outlives it.
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-key-never-used-by-a-site")

import settings as site  # noqa: E402

POSTGRES_DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def sqlite_database(path) -> dict:
    """Return the site's SQLite entry (WAL, immediate transactions) for the database file ``path``."""
    database = site.sqlite_database(path)
    database["TEST"] = {"NAME": str(path)}
    return database


def postgres_database(url, name) -> dict:
    """Return a PostgreSQL entry for the server of ``url``; the benchmark's database is ``name``."""
    database = site.database_from_url(url or POSTGRES_DEFAULT_URL, None)
    if not database["ENGINE"].endswith("postgresql"):
        raise ValueError(f"--postgres needs a postgres:// DATABASE_URL, not {url!r}.")
    database["TEST"] = {"NAME": name}
    return database


def build(database: dict) -> dict:
    """Return the settings for ``settings.configure()``: the site's, with ``database`` and no DEBUG."""
    values = {name: getattr(site, name) for name in dir(site) if name.isupper()}
    values.update(
        DEBUG=False,  # DEBUG would keep every query in memory
        DATABASES={"default": database},
        ATM_WORKER=False,
        LOGGING={"version": 1, "disable_existing_loggers": False},
    )
    return values


def configure(
    *, postgres: bool, database_name: str, directory, redis_url: str | None = None, layer_backend: str = ""
) -> dict:
    """Configure Django with the benchmark's settings and set it up; return the database entry.

    PostgreSQL (the server of ``DATABASE_URL``, database ``database_name``) if ``postgres``, else a
    SQLite file in ``directory``; the channel layer is Redis at ``redis_url``, or in memory, of the
    class ``layer_backend`` if given.
    """
    import django
    from django.conf import settings

    if postgres:
        database = postgres_database(os.environ.get("DATABASE_URL"), database_name)
    else:
        database = sqlite_database(Path(directory) / "bench.sqlite3")
    values = build(database)
    values["CHANNEL_LAYERS"] = site.channel_layers_from_url(redis_url)
    if layer_backend:
        values["CHANNEL_LAYERS"]["default"]["BACKEND"] = layer_backend
    settings.configure(**values)
    django.setup()
    return database


def configure_from_args(args, directory) -> dict:
    """Run :func:`configure` as a benchmark's command line says; return the database entry.

    ``--postgres`` and ``--database-name``, and where the script has it, ``--redis`` (the Redis of
    ``args.redis_url``).
    """
    redis_url = args.redis_url if getattr(args, "redis", False) else None
    return configure(
        postgres=args.postgres, database_name=args.database_name, directory=directory, redis_url=redis_url
    )
