"""A property-based run of the whole API from its OpenAPI schema (Schemathesis).

For every operation of the schema and each of anonymous, a plain user, a member of the group a
task and a start are for, and staff with the instances' permissions: a few generated requests,
none answered with a server error, each answer with a status, a content type and a body the
schema declares. Half of the generated ids are swapped for those of real tasks and instances, so
that the runs reach past the 404s.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from automations.models import AutomationModel
from tests.api.flows import DecidersApproval, token_for
from tests.people.flows import open_task

pytestmark = pytest.mark.django_db(transaction=False)

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
# Requests the schema allows; a path the urls do not match (/instances/abc/) never reaches the API.
schema.config.generation.update(modes=[GenerationMode.POSITIVE])
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = [None, "plain", "manager", "staff"]
APP = get_wsgi_application()


@pytest.fixture
def same_connection():
    """Keep the test's database connection open across requests, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(people):
    """Two instances waiting for the Deciders, one failed instance, one finished; their ids."""
    waiting = [DecidersApproval(title="desk") for _ in range(2)]
    failed = DecidersApproval()
    AutomationModel.objects.filter(pk=failed.id).update(status="failed", error="ValueError('x')")
    return {
        "tasks": [open_task(automation).pk for automation in waiting],
        "instances": [automation.id for automation in waiting] + [failed.id],
    }


def real_ids(case, world) -> None:
    """Swap half the generated ids for real ones, and half the class paths for a startable class."""
    parameters = case.path_parameters or {}
    if isinstance(parameters.get("task_id"), int) and parameters["task_id"] % 2 == 0:
        parameters["task_id"] = world["tasks"][parameters["task_id"] // 2 % len(world["tasks"])]
    if isinstance(parameters.get("instance_id"), int) and parameters["instance_id"] % 2 == 0:
        parameters["instance_id"] = world["instances"][
            parameters["instance_id"] // 2 % len(world["instances"])
        ]
    if "class_path" in parameters and len(str(parameters["class_path"])) % 2 == 0:
        parameters["class_path"] = "tests.api.flows.DecidersApproval"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "anonymous")
@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_schema(case, role, people, world, settings, same_connection):
    settings.ALLOWED_HOSTS = ["*"]
    real_ids(case, world)
    headers = {"Authorization": f"Token {token_for(people[role])}"} if role else {}
    case.call_and_validate(app=APP, headers=headers, checks=CHECKS)
