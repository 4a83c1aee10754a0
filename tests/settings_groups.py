"""Test settings with a group model of the project's own (``tests.teams.Team``) in place of auth.Group.

Swapping the group model changes a foreign key of Django Automations' migrations, so these settings
get a test database of their own; ``tests/people/test_custom_groups.py`` runs
``tests/teams/custom_group_checks.py`` with them in a separate process.
"""

from tests.settings import *  # noqa: F403
from tests.settings import BASE_DIR, DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.teams"]

ATM_GROUP_MODEL = "teams.Team"
ATM_USER_WITH_PERMISSIONS_FORM_METHOD = "tests.teams.permissions.form_users"
ATM_USER_WITH_PERMISSIONS_MODEL_METHOD = "tests.teams.permissions.task_users"

DATABASES = {"default": dict(DATABASES["default"])}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test_teams.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_teams"}
