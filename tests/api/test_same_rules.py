"""Every permission rule of the HTML pages holds in the JSON API: each case runs against both.

A case names a user and a request; the page and the API must both let the user in, or both keep
them out. "In" is a 2xx (or a page's redirect after a taken POST); "out" is the page's redirect to
the login, 403 or 404, and the API's 401, 403 or 404.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from rest_framework.test import APIClient

from automations.models import AutomationModel
from tests.api.flows import DecidersApproval, make_people, token_for
from tests.people.flows import WHO_MAY_PROCESS, make_user, open_task

pytestmark = pytest.mark.django_db

LOGIN = resolve_url(settings.LOGIN_URL)
START_PATH = "tests.api.flows.DecidersApproval"


@pytest.fixture
def everybody(db):
    """The API tests' roles and the people tests' users (ada, bob, rita, alex, root), by name."""
    people = make_people()
    users = {user.username: user for user in people.values()}
    for name, kwargs in [
        ("ada", {}),
        ("bob", {}),
        ("rita", {"groups": ["Reviewers"]}),
        ("alex", {"permissions": ["approvals.approve_expense"]}),
        ("vera", {"permissions": ["automations.view_automationmodel"]}),
        ("ina", {"permissions": ["automations.view_automationmodel"]}),
    ]:
        users[name] = make_user(name, **kwargs)
    users["ina"].is_active = False
    users["ina"].save()
    users["sam"] = make_user("sam", staff=True)  # staff without any permission
    return users


def page_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def page_lets_in(response) -> bool:
    if response.status_code in (301, 302):
        return not response["Location"].startswith(LOGIN)
    assert response.status_code in (200, 403, 404, 409), response.status_code
    return response.status_code in (200, 409)


def api_lets_in(response) -> bool:
    assert response.status_code in (200, 201, 401, 403, 404, 409), response.content
    return response.status_code in (200, 201, 409)


def both(user, page, api) -> tuple[bool, bool]:
    """Return whether ``page(client)`` and ``api(client)`` let ``user`` in."""
    return page_lets_in(page(page_client(user))), api_lets_in(api(api_client(user)))


USERS = ["ada", "bob", "rita", "alex", "root", "pat", "mia", "stan", "vera", "sam", "ina", None]


@pytest.mark.parametrize("username", USERS)
def test_the_task_list(everybody, username):
    user = everybody.get(username)
    page, api = both(user, lambda c: c.get("/automations/tasks/"), lambda c: c.get("/automations/api/tasks/"))
    assert page == api == (user is not None and user.is_active)


@pytest.mark.parametrize("automation_class, allowed", [*WHO_MAY_PROCESS, (DecidersApproval, {"mia", "root"})])
@pytest.mark.parametrize("username", USERS)
def test_seeing_a_task(everybody, automation_class, allowed, username):
    task = open_task(automation_class())
    user = everybody.get(username)
    page, api = both(
        user,
        lambda c: c.get(f"/automations/tasks/{task.pk}/"),
        lambda c: c.get(f"/automations/api/tasks/{task.pk}/"),
    )
    expected = username in allowed or (
        username not in (None, "ina") and automation_class.__name__ == "Unassigned"
    )
    assert page == api == expected


@pytest.mark.parametrize("automation_class, allowed", [*WHO_MAY_PROCESS, (DecidersApproval, {"mia", "root"})])
@pytest.mark.parametrize("username", ["ada", "bob", "rita", "mia", "stan", None])
def test_submitting_a_task(everybody, automation_class, allowed, username):
    user = everybody.get(username)
    tasks = [open_task(automation_class()), open_task(automation_class())]
    page = page_lets_in(page_client(user).post(f"/automations/tasks/{tasks[0].pk}/", {"approved": "on"}))
    response = api_client(user).post(
        f"/automations/api/tasks/{tasks[1].pk}/submit/", {"approved": True}, format="json"
    )
    api = api_lets_in(response)
    expected = username in allowed or (username is not None and automation_class.__name__ == "Unassigned")
    assert page == api == expected
    done = [AutomationModel.objects.get(pk=task.automation_id).finished for task in tasks]
    assert done == [expected, expected]


@pytest.mark.parametrize("username", USERS)
@pytest.mark.parametrize("kind", ["list", "one"])
def test_seeing_instances(everybody, username, kind):
    automation = DecidersApproval()
    user = everybody.get(username)
    suffix = "" if kind == "list" else f"{automation.id}/"
    page, api = both(
        user,
        lambda c: c.get(f"/automations/instances/{suffix}"),
        lambda c: c.get(f"/automations/api/instances/{suffix}"),
    )
    assert page == api == (username in ("root", "stan", "vera"))


@pytest.mark.parametrize("username", USERS)
def test_cancelling_an_instance(everybody, username):
    user = everybody.get(username)
    first, second = DecidersApproval(), DecidersApproval()
    page = page_lets_in(
        page_client(user).post(f"/automations/instances/{first.id}/cancel/", {"reason": "test"})
    )
    response = api_client(user).post(
        f"/automations/api/instances/{second.id}/cancel/", {"reason": "test"}, format="json"
    )
    api = api_lets_in(response)
    assert page == api == (username in ("root", "stan"))
    statuses = {AutomationModel.objects.get(pk=pk).status for pk in (first.id, second.id)}
    assert statuses == ({"cancelled"} if page else {"waiting_for_person"})


@pytest.mark.parametrize("username", ["rita", "root", "stan"])
def test_waking_an_instance(everybody, username):
    automation = DecidersApproval()
    user = everybody.get(username)
    page, api = both(
        user,
        lambda c: c.post(f"/automations/instances/{automation.id}/wake/"),
        lambda c: c.post(f"/automations/api/instances/{automation.id}/wake/"),
    )
    assert page == api == (username in ("root", "stan"))


@pytest.mark.parametrize("username", USERS)
def test_starting(everybody, username):
    user = everybody.get(username)
    data = {"title": "Chair", "amount": "12.50", "priority": "high"}
    page = page_lets_in(page_client(user).post(f"/automations/start/{START_PATH}/", data))
    response = api_client(user).post(f"/automations/api/automations/{START_PATH}/start/", data, format="json")
    api = api_lets_in(response)
    assert page == api == (username in ("mia", "root"))
    assert AutomationModel.objects.filter(automation_class=START_PATH).count() == (2 if page else 0)
    listed = api_client(user).get("/automations/api/automations/")
    menu = [entry["automation_class"] for entry in listed.data] if listed.status_code == 200 else []
    assert (START_PATH in menu) == page


@pytest.mark.parametrize("username", ["pat", "mia", "max", "stan", "root", "sam", None])
def test_handing_a_task_over(everybody, username):
    everybody["max"] = make_user("max", groups=["Deciders"])
    user = everybody.get(username)
    first, second = open_task(DecidersApproval()), open_task(DecidersApproval())
    page = page_lets_in(
        page_client(user).post(f"/automations/tasks/{first.pk}/reassign/", {"username": "max"})
    )
    response = api_client(user).post(
        f"/automations/api/tasks/{second.pk}/reassign/", {"username": "max"}, format="json"
    )
    api = api_lets_in(response)
    assert page == api == (username in ("mia", "max", "stan", "root", "sam"))
    holders = {task.pk: type(task).objects.get(pk=task.pk).interaction_user_id for task in (first, second)}
    assert holders == (
        {first.pk: everybody["max"].pk, second.pk: everybody["max"].pk}
        if page
        else {first.pk: None, second.pk: None}
    )
