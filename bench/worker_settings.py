"""Settings of the ``automation_worker`` processes the runtime benchmark starts.

The site's settings (``DATABASE_URL`` and ``REDIS_URL`` from the environment) with the benchmark's
automations installed, so that the workers know them, and without DEBUG, which keeps every query.
"""

from settings import *  # noqa: F403
from settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
DEBUG = False
LOGGING = {"version": 1, "disable_existing_loggers": False}
