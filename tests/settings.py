"""Settings for the test suite: the site's settings plus the test app.

``DATABASE_URL`` selects PostgreSQL exactly as for the site; without it the tests use a SQLite file
(a file, not memory, so that subprocess and live-server tests see the same database).
"""

import os

# The site's settings refuse to load without a secret key unless DEBUG is on; the tests run without
# DEBUG, on a key of their own. The variable is set only while they load, so that processes the
# tests start see the caller's environment.
TEST_SECRET_KEY = "tests-only-key-never-used-by-a-site-0123456789-abcdefghijklmnopqrstuvwxyz"
_caller_key = os.environ.get("DJANGO_SECRET_KEY")
os.environ["DJANGO_SECRET_KEY"] = _caller_key or TEST_SECRET_KEY
try:
    from settings import *  # noqa: F403
    from settings import BASE_DIR, database_from_url
finally:
    if _caller_key is None:
        del os.environ["DJANGO_SECRET_KEY"]

DEBUG = False
# The test client speaks plain HTTP: no redirect to HTTPS, cookies not limited to it.
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = False

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
ATM_NOTIFY_IN_BACKGROUND = False  # notifications are sent after the commit, in the test's thread
SILENCED_SYSTEM_CHECKS = ["automations.W010"]  # the form tests declare unassigned forms on purpose

# django CMS joins when it is installed (the CMS plugin tests, tests/test_cms*.py, skip otherwise).
from tests.settings_cms import add_cms  # noqa: E402

add_cms(globals())

# The database task backend joins when it is installed (the test extra installs it): the long-call
# tests run its db_worker (tests/test_long_calls_worker.py). On Django 5.2 the task framework is the
# django-tasks backport, an app of its own.
from importlib.util import find_spec  # noqa: E402

if find_spec("django_tasks_db"):
    INSTALLED_APPS += [*([] if find_spec("django.tasks") else ["django_tasks"]), "django_tasks_db"]

# Subprocesses started by tests (e.g. `manage.py automation_step`) must use the test database.
if os.environ.get("ATM_TEST_USE_TEST_DB") == "1":
    DATABASES["default"]["NAME"] = DATABASES["default"]["TEST"].get("NAME") or (
        "test_" + DATABASES["default"]["NAME"]
    )

# Tests opt in to a scheduler worker (``settings.ATM_WORKER = True``) even when REDIS_URL is set.
ATM_WORKER = False
