"""Small helpers shared by the core tests."""

import pytest
from django.db import connection

from automations.models import AutomationModel, AutomationTaskModel
from tests.conftest import REQUIRE_SERVICES


def tasks(automation):
    """Return the task rows of ``automation`` (an Automation or an id) in creation order."""
    automation_id = automation if isinstance(automation, int) else automation.id
    return list(AutomationTaskModel.objects.filter(automation_id=automation_id).order_by("pk"))


def statuses(automation):
    """Return the node names ``automation`` has visited, in order."""
    return [task.status for task in tasks(automation)]


def open_statuses(automation):
    """Return the node names of ``automation``'s open tasks."""
    return [task.status for task in tasks(automation) if task.finished is None]


def row(automation):
    """Return the fresh ``AutomationModel`` row of ``automation``."""
    automation_id = automation if isinstance(automation, int) else automation.id
    return AutomationModel.objects.get(pk=automation_id)


def require_postgres():
    """Skip unless the tests run on PostgreSQL; fail instead with ``ATM_REQUIRE_SERVICES=1``."""
    if connection.vendor == "postgresql":
        return
    if REQUIRE_SERVICES:
        pytest.fail("ATM_REQUIRE_SERVICES=1, but DATABASE_URL does not point to PostgreSQL.")
    pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
