"""What a user can reach by a stale link or an edited number shows the site's own 404 and 403 pages.

In development too: ``make run`` sets ``DEBUG``, where Django shows its technical page for a raised
``Http404``; the views answer these expected situations with the layout's page instead. A
mistyped address and real errors still show Django's technical pages there, for the developer.
"""

import pytest
from django.test import override_settings
from django.urls import reverse

from automations.models import AutomationTaskModel
from automations.views.instances import InstanceView
from demo.automations import TrialJourney
from tests.people.flows import ForAda, make_user

pytestmark = [pytest.mark.django_db]

TECHNICAL_404 = "Using the URLconf defined in"


def assert_site_page(response, status, template, text):
    assert response.status_code == status
    assert template in [t.name for t in response.templates]
    page = response.content.decode()
    assert TECHNICAL_404 not in page
    assert 'class="atm-main"' in page and text in page


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request):
    with override_settings(DEBUG=request.param):
        yield request.param


def test_another_users_task_is_the_404_page(client, debug, ada, bob):
    automation = ForAda()
    task = AutomationTaskModel.objects.get(automation_id=automation.id, finished=None)
    client.force_login(bob)
    for method in (client.get, client.post):
        response = method(reverse("automations:task", args=[task.pk]))
        assert_site_page(response, 404, "automations/404.html", "No open task of yours has this number.")
    assert_site_page(
        client.get(reverse("automations:task", args=[999999])),
        404,
        "automations/404.html",
        "No open task of yours has this number.",
    )


def test_an_unknown_instance_is_the_404_page(client, debug, root):
    client.force_login(root)
    for name, args in [
        ("automations:instance", [999999]),
        ("automations:history", [999999]),
        ("automations:instance_action", [999999, "wake"]),
    ]:
        assert_site_page(client.get(reverse(name, args=args)), 404, "automations/404.html", "Nothing here")


def test_the_instances_without_the_permission_are_the_403_page(client, debug, ada):
    client.force_login(ada)
    response = client.get(reverse("automations:instances"))
    assert_site_page(response, 403, "automations/403.html", "You may not see this page")


def test_the_pricing_page_without_a_journeys_key_is_the_404_page(client, debug):
    alice = make_user("alice")
    journey = TrialJourney(customer=alice)
    for query in ({}, {"key": "guess"}, {"key": str(journey.id)}):
        response = client.get(reverse("demo_pricing"), query)
        assert_site_page(response, 404, "automations/404.html", "No trial journey has this key.")
    response = client.post(reverse("demo_buy"), {"key": "guess", "plan": "starter"})
    assert_site_page(response, 404, "automations/404.html", "No trial journey has this key.")
    assert not journey.finished()


@override_settings(DEBUG=True)
def test_in_debug_a_mistyped_address_still_shows_djangos_page_with_the_urls(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert TECHNICAL_404 in response.content.decode()


@override_settings(DEBUG=True)
def test_in_debug_a_bug_in_a_view_is_not_turned_into_an_error_page(client, root, monkeypatch):
    def broken(self, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(InstanceView, "get_context_data", broken)
    client.force_login(root)
    with pytest.raises(RuntimeError, match="a bug"):
        client.get(reverse("automations:instance", args=[1]))
