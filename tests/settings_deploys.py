"""The test settings plus the app that declares the deploy tests' ``Journey`` (for their workers)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.deploys"]
