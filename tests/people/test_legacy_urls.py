"""The paths and URL names of django-automations 0.9: old links redirect to today's pages."""

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from automations.models import AutomationTaskModel
from tests.people.flows import Exploding, ForAda, open_task

pytestmark = pytest.mark.django_db

LOGIN = resolve_url(settings.LOGIN_URL)

# (0.9's path below the prefix, the status, today's path), as 0.9.4.1's resolver listed them.
MOVED = [
    ("", 302, "tasks/"),
    ("7", 301, "tasks/7/"),
    ("errors", 301, "errors/"),
    ("dashboard", 301, "dashboard/"),
    ("dashboard/3", 301, "3/history/"),
    ("dashboard/3/traceback/7", 301, "3/traceback/7/"),
]


@pytest.mark.parametrize(("old", "status", "new"), MOVED)
def test_an_old_path_redirects_to_todays_page(old, status, new):
    response = Client().get(f"/automations/{old}")
    assert (response.status_code, response["Location"]) == (status, f"/automations/{new}")


def test_the_query_goes_along():
    response = Client().get("/automations/dashboard/3?page=2")
    assert response["Location"] == "/automations/3/history/?page=2"


def test_the_url_names_of_0_9_reverse_with_its_arguments():
    assert reverse("automations:task_list") == "/automations/tasks/"
    assert reverse("automations:task", kwargs={"task_id": 7}) == "/automations/tasks/7/"
    assert reverse("automations:error_report") == reverse("automations:errors") == "/automations/errors/"
    assert reverse("automations:dashboard") == "/automations/dashboard/"
    assert reverse("automations:history", kwargs={"automation_id": 3}) == "/automations/3/history/"
    assert reverse("automations:traceback", kwargs={"automation_id": 3, "task_id": 7}) == (
        "/automations/3/traceback/7/"
    )


def test_a_task_link_from_an_e_mail_of_0_9_opens_the_form(ada):
    task = open_task(ForAda())
    old_link = f"/automations/{task.pk}"
    anonymous = Client().get(old_link, follow=True)
    assert anonymous.redirect_chain[-1][0].startswith(f"{LOGIN}?next=/automations/tasks/{task.pk}/")
    client = Client()
    client.force_login(ada)
    response = client.get(old_link, follow=True)
    assert response.status_code == 200 and "Only for Ada" in response.content.decode()


def test_the_old_error_pages_lead_to_the_failure(root):
    exploded = Exploding()
    failed = AutomationTaskModel.objects.get(automation_id=exploded.id, status="explode")
    client = Client()
    client.force_login(root)
    for old in ("errors", f"dashboard/{exploded.id}", f"dashboard/{exploded.id}/traceback/{failed.pk}"):
        response = client.get(f"/automations/{old}", follow=True)
        assert response.status_code == 200 and "ValueError" in response.content.decode(), old
