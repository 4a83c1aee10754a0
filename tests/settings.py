"""Settings for the test suite: the site's settings plus the test app.

``DATABASE_URL`` selects PostgreSQL exactly as for the site; without it the tests use a SQLite file
(a file, not memory, so that subprocess and live-server tests see the same database).
"""

import os

from settings import *  # noqa: F403
from settings import BASE_DIR, database_from_url

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"), BASE_DIR / "var" / "test.sqlite3")}
DATABASES["default"]["TEST"] = (
    {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3")
    else {}
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
INSTALLED_APPS += ["tests.approvals"]  # noqa: F405
SILENCED_SYSTEM_CHECKS = ["automations.W010"]  # the form tests declare unassigned forms on purpose

# django CMS joins when it is installed (the CMS plugin tests, tests/test_cms*.py, skip otherwise).
from tests.settings_cms import add_cms  # noqa: E402

add_cms(globals())

# Subprocesses started by tests (e.g. `manage.py automation_step`) must use the test database.
if os.environ.get("ATM_TEST_USE_TEST_DB") == "1":
    DATABASES["default"]["NAME"] = DATABASES["default"]["TEST"].get("NAME") or (
        "test_" + DATABASES["default"]["NAME"]
    )

# Tests opt in to a scheduler worker (``settings.ATM_WORKER = True``) even when REDIS_URL is set.
ATM_WORKER = False
