"""Running the benchmark scripts as a user would, for their smoke runs (``pytest -m bench``).

A script runs in a child process of this Python, from the project's root, with this environment
but without the tests' settings module (each script configures Django itself). A smoke run that
needs a service skips without it, or fails when ``ATM_REQUIRE_SERVICES=1`` (as in CI).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parent.parent


def run_script(path, *args, sqlite: bool = False, env_extra=None, timeout: float = 300):
    """Run the script ``path`` (relative to the project's root, or absolute) with ``args``.

    ``sqlite`` leaves ``DATABASE_URL`` out, so that the script uses its own SQLite file;
    ``env_extra`` adds variables. Return the ``subprocess.CompletedProcess`` (output as text).
    """
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    if sqlite:
        env.pop("DATABASE_URL", None)
    env.update(env_extra or {})
    command = [sys.executable, str(ROOT / path), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)


def needs(*missing: str) -> None:
    """Skip the test (fail it with ``ATM_REQUIRE_SERVICES=1``) if any of ``missing`` is not empty."""
    missing = tuple(what for what in missing if what)
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(f"ATM_REQUIRE_SERVICES=1, but the benchmark needs {' and '.join(missing)}.")
        pytest.skip(f"needs {' and '.join(missing)}")


def postgres() -> str:
    """Return ``""`` if ``DATABASE_URL`` names a PostgreSQL server, else what is missing."""
    url = os.environ.get("DATABASE_URL", "")
    return "" if url.startswith(("postgres://", "postgresql://")) else "DATABASE_URL=postgres://..."


def redis() -> str:
    """Return ``""`` if ``REDIS_URL`` is set, else what is missing."""
    return "" if os.environ.get("REDIS_URL") else "REDIS_URL=redis://..."


def program(name: str) -> str:
    """Return ``""`` if the program ``name`` is on ``PATH``, else what is missing."""
    return "" if shutil.which(name) else f"{name} on PATH"


def database_name(suffix: str) -> str:
    """Return the name of a benchmark's own database beside the tests' (``DATABASE_URL``'s name + suffix)."""
    return f"{urlsplit(os.environ.get('DATABASE_URL', '')).path.lstrip('/') or 'postgres'}_{suffix}"
