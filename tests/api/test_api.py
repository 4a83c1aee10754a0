"""The JSON API: what each endpoint answers (the permission cases are in test_same_rules.py)."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from automations.api.form_schema import form_schema
from automations.models import AutomationModel, AutomationTaskModel
from tests.api.flows import ChoiceForm, DecidersApproval, OnePerTitle, RequestForm, token_for
from tests.people.flows import PASSWORD, open_task

pytestmark = pytest.mark.django_db

TASKS = "/automations/api/tasks/"
INSTANCES = "/automations/api/instances/"


def test_a_form_as_a_json_schema():
    schema = form_schema(RequestForm())
    assert schema["required"] == ["title", "amount", "priority"]
    title, amount, priority = (schema["properties"][name] for name in ("title", "amount", "priority"))
    assert title == {
        "type": "string", "title": "Title", "description": "What is asked for.", "x-widget": "TextInput",
        "maxLength": 80,
    }  # fmt: skip
    assert amount["type"] == "string" and amount["format"] == "decimal" and amount["minimum"] == 0
    assert priority["oneOf"] == [{"const": "low", "title": "Low"}, {"const": "high", "title": "High"}]
    assert priority["default"] == "low"
    assert schema["properties"]["due"]["format"] == "date"
    assert schema["properties"]["urgent"]["type"] == "boolean"

    choices = form_schema(ChoiceForm())["properties"]
    assert choices["colour"]["type"] == "array" and choices["colour"]["default"] == ["blue"]
    assert choices["colour"]["items"]["oneOf"][1] == {"const": "blue", "title": "Blue"}
    assert choices["size"] == {
        "type": "integer", "title": "Size", "x-widget": "NumberInput",
        "maximum": 10, "minimum": 1, "default": 3,
    }  # fmt: skip


def test_the_inbox_pages_and_sections(api, people, settings):
    settings.ATM_TASK_PAGE_SIZE = 2
    for _ in range(3):
        DecidersApproval()
    client = api("manager")
    first = client.get(TASKS).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"].endswith("?page=2")
    assert client.get(TASKS, {"page": 2}).json()["results"][0]["id"] > first["results"][1]["id"]
    assert client.get(TASKS, {"section": "mine"}).json()["count"] == 0
    assert client.get(TASKS, {"section": "queue", "page_size": 5}).json()["count"] == 3


def test_a_task_with_its_form_and_a_submission(api, people):
    automation = OnePerTitle(title="Desk")
    task = open_task(automation)
    client = api("manager")
    detail = client.get(f"{TASKS}{task.pk}/").json()
    assert detail["form"]["properties"]["colour"]["default"] == ["blue"]
    refused = client.post(f"{TASKS}{task.pk}/submit/", {"colour": ["green"], "size": 11}, format="json")
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert set(errors) == {"colour", "size"} and "green" in errors["colour"][0]
    assert AutomationTaskModel.objects.get(pk=task.pk).finished is None

    taken = client.post(f"{TASKS}{task.pk}/submit/", {"colour": ["red", "blue"], "size": 4}, format="json")
    assert taken.status_code == 200
    assert taken.json() == {"instance": automation.id, "status": "finished", "next_task": None}
    assert AutomationModel.objects.get(pk=automation.id).data["ask"] == {"colour": ["red", "blue"], "size": 4}

    gone = client.get(f"{TASKS}{task.pk}/")
    assert gone.status_code == 410 and "mia completed this task" in gone.json()["detail"]
    assert api("plain").get(f"{TASKS}{task.pk}/").status_code == 404


def test_a_submission_that_is_not_an_object_is_refused(api, people):
    task = open_task(DecidersApproval())
    response = api("manager").post(f"{TASKS}{task.pk}/submit/", [1, 2], format="json")
    assert response.status_code == 400 and response.json()["errors"]["__all__"]
    broken = api("manager").post(f"{TASKS}{task.pk}/submit/", "{", content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.json()["errors"]["__all__"][0]


def test_instances_filtered_as_on_the_console(api, people):
    first, second = DecidersApproval(title="lamp"), DecidersApproval(title="chair")
    AutomationModel.objects.filter(pk=second.id).update(status="failed", error="ValueError('x')")
    client = api("staff")
    assert [row["id"] for row in client.get(INSTANCES).json()["results"]] == [second.id, first.id]
    assert [row["id"] for row in client.get(INSTANCES, {"state": "failed"}).json()["results"]] == [second.id]
    assert [row["id"] for row in client.get(INSTANCES, {"state": "error"}).json()["results"]] == [second.id]
    assert [row["id"] for row in client.get(INSTANCES, {"q": "lamp"}).json()["results"]] == [first.id]
    assert [row["id"] for row in client.get(INSTANCES, {"q": f"#{first.id}"}).json()["results"]] == [first.id]
    assert client.get(INSTANCES, {"automation": "no.such.Class"}).json()["count"] == 0
    one = client.get(f"{INSTANCES}{second.id}/").json()
    assert one["status"] == "failed" and one["actions"] == ["cancel"]
    assert one["data"] == {"title": "chair"} and one["positions"][0]["node"] == "ask"


def test_the_actions_answer_as_the_console_does(api, people):
    automation = DecidersApproval()
    client = api("staff")
    url = f"{INSTANCES}{automation.id}/"
    retried = client.post(f"{url}retry/")
    assert retried.status_code == 409 and "does not apply" in retried.json()["detail"]
    no_reason = client.post(f"{url}cancel/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    unknown = client.post(f"{url}message/", {"message": "shout"}, format="json")
    assert unknown.status_code == 400 and "no receiver" in unknown.json()["detail"]
    sent = client.post(f"{url}message/", {"message": "nudge", "data": {"by": "stan"}}, format="json")
    assert sent.status_code == 200 and sent.json()["instance"]["data"]["nudged"] == "stan"
    woken = client.post(f"{url}wake/")
    assert woken.status_code == 200 and "woken" in woken.json()["detail"]
    cancelled = client.post(f"{url}cancel/", {"reason": "Asked twice."}, format="json").json()
    assert (
        cancelled["instance"]["status"] == "cancelled"
        and cancelled["instance"]["cancel_reason"] == "Asked twice."
    )
    history = [
        (row["action"], row["user"]) for row in cancelled["instance"]["history"] if row["kind"] == "action"
    ]
    assert history == [("message", "stan"), ("wake", "stan"), ("cancel", "stan")]
    again = client.post(f"{url}cancel/", {"reason": "Again."}, format="json")
    assert again.status_code == 409


def test_starting_with_data(api, people):
    client = api("manager")
    listed = {
        entry["automation_class"]: entry for entry in client.get("/automations/api/automations/").json()
    }
    assert listed["tests.api.flows.OnePerTitle"]["form"]["required"] == ["title", "amount", "priority"]
    url = "/automations/api/automations/tests.api.flows.OnePerTitle/start/"
    invalid = client.post(url, {"title": "Desk", "amount": "-1", "priority": "urgent"}, format="json")
    assert invalid.status_code == 400 and set(invalid.json()["errors"]) == {"amount", "priority"}
    data = {"title": "Desk", "amount": "10", "priority": "high"}
    started = client.post(url, data, format="json")
    assert started.status_code == 201
    model = AutomationModel.objects.get(pk=started.json()["instance"]["id"])
    assert model.data["title"] == "Desk" and started.json()["next_task"] == open_task(model.instance).pk
    again = client.post(url, data, format="json")
    assert again.status_code == 409 and again.json()["instance"] == model.pk
    missing = client.post("/automations/api/automations/no.such.Class/start/", data, format="json")
    assert missing.status_code == 404


def test_tokens_and_sessions(api, people, client):
    anonymous = APIClient()
    refused = anonymous.get(TASKS)
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Token"
    got = anonymous.post("/automations/api/token/", {"username": "mia", "password": PASSWORD}, format="json")
    assert got.status_code == 200 and got.json()["token"] == token_for(people["manager"])
    wrong = anonymous.post("/automations/api/token/", {"username": "mia", "password": "no"}, format="json")
    assert wrong.status_code == 400

    client.force_login(people["manager"])
    assert client.get(TASKS).status_code == 200
    task = open_task(DecidersApproval())
    csrf_checked = APIClient(enforce_csrf_checks=True)
    csrf_checked.force_login(people["manager"])
    without_token = csrf_checked.post(f"{TASKS}{task.pk}/submit/", {}, format="json")
    assert without_token.status_code == 403 and "CSRF" in without_token.json()["detail"]

    User.objects.filter(pk=people["manager"].pk).update(is_active=False)
    assert api("manager").get(TASKS).status_code == 401


def test_the_schema_is_served(client):
    response = client.get("/automations/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/automations/api/tasks/{task_id}/submit/" in schema["paths"]
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
