"""Hostile input typed into the console and the admin: refused with a reason, never a server error.

Deep or huge JSON in the "send a message" form and in the admin's JSON fields, NUL characters in
searches and filters (PostgreSQL refuses them in text), and search terms that must survive the
pager's links.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from automations import flow
from automations.models import AutomationModel, AutomationTaskModel
from automations.views.instances import pretty_json
from tests.people.flows import make_user

pytestmark = pytest.mark.django_db

CHANGE = ["automations.view_automationmodel", "automations.change_automationmodel"]


class Listening(flow.Automation):
    """Waits a day; receives ``note``."""

    wait = flow.Execute(lambda task: None).AsSoonAs(lambda task: False)
    end = flow.End()

    def receive_note(self, token, data):
        self.data["notes"] = self.data.get("notes", 0) + 1


@pytest.fixture
def operator():
    client = Client(raise_request_exception=False)
    client.force_login(make_user("operator", staff=True, permissions=CHANGE))
    return client


@pytest.fixture
def boss():
    client = Client(raise_request_exception=False)
    client.force_login(make_user("boss", superuser=True))
    return client


def nested_object(depth):
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "data, reason",
    [
        ("[" * 100_000, "nested at most 64 levels"),
        (nested_object(1500), "nested at most 64 levels"),
        (nested_object(66), "nested at most 64 levels"),
        ('{"blob": "' + "x" * 300_000 + '"}', "at most 262144 bytes"),
        ('{"a": "\\u0000"}', "cannot hold NUL"),
        ("[1, 2", "is not valid JSON"),
    ],
)
def test_the_message_form_refuses_data_that_breaks_the_rules(operator, data, reason):
    listening = Listening()
    url = reverse("automations:instance_action", args=[listening.id, "message"])
    response = operator.post(url, {"message": "note", "token": "", "data": data})
    assert response.status_code == 200
    assert reason in unescape(response.content.decode())
    model = AutomationModel.objects.get(pk=listening.id)
    assert "notes" not in model.data and not model.error
    assert not AutomationTaskModel.objects.filter(automation_id=listening.id, status="").exists()


def test_the_message_form_takes_data_at_the_depth_limit(operator):
    listening = Listening()
    url = reverse("automations:instance_action", args=[listening.id, "message"])
    response = operator.post(url, {"message": "note", "data": nested_object(63)})
    assert response.status_code == 302
    assert AutomationModel.objects.get(pk=listening.id).data["notes"] == 1


def test_data_nested_too_deep_to_encode_is_named_not_shown():
    deep = {}
    for _ in range(100_000):  # only code can make such data; no page may fail on it
        deep = {"a": deep}
    assert pretty_json(deep) == "(nested too deep to show)"
    assert pretty_json({"a": [1]}) == '{\n  "a": [\n    1\n  ]\n}'


def test_the_admin_json_fields_refuse_deep_json(boss):
    listening = Listening()
    task = AutomationTaskModel.objects.filter(automation_id=listening.id).first()
    url = reverse("admin:automations_automationtaskmodel_change", args=[task.pk])
    response = boss.post(url, {"status": task.status, "interaction_permissions": "[" * 100_000})
    assert response.status_code == 200
    assert "nested at most 64 levels" in unescape(response.content.decode())
    task.refresh_from_db()
    assert task.interaction_permissions == []


NUL_QUERIES = [{"q": "\x00"}, {"automation": "\x00"}, {"q": "a\x00b", "state": "running"}, {"\x00": "x"}]


@pytest.mark.parametrize("query", NUL_QUERIES)
def test_a_nul_in_the_console_search_matches_no_instance(operator, query):
    Listening(note="a")
    response = operator.get(reverse("automations:instances"), query)
    assert response.status_code == 200
    assert "No instance matches." in response.content.decode()


@pytest.mark.parametrize(
    "admin_url, query",
    [
        ("admin:automations_automationmodel_changelist", {"q": "\x00"}),
        ("admin:automations_automationmodel_changelist", {"automation_class": "\x00"}),
        ("admin:automations_automationtaskmodel_changelist", {"q": "\x00"}),
        ("admin:automations_automationtaskmodel_changelist", {"automation__automation_class": "\x00"}),
        ("admin:automations_automationtaskmodel_changelist", {"status": "\x00"}),
    ],
)
def test_a_nul_in_the_admin_search_and_filters_matches_nothing(boss, admin_url, query):
    Listening(note="a")
    response = boss.get(reverse(admin_url), query)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert response.context["cl"].result_count == 0


def test_pager_links_keep_the_search_encoded(operator):
    for number in range(30):
        AutomationModel.objects.create(automation_class="gone.Old", data={"note": f"a&b+c {number}"})
    AutomationModel.objects.create(automation_class="gone.Old", data={"note": "a only"})
    response = operator.get(reverse("automations:instances"), {"q": "a&b+c", "x": "1 2&y=3"})
    html = response.content.decode()
    assert len(response.context["rows"]) == 25
    links = {unescape(href) for href in re.findall(r'href="(\?[^"]*)"', html)}
    next_link = next(link for link in links if "page=2" in link)
    assert next_link == "?q=a%26b%2Bc&x=1+2%26y%3D3&page=2"
    second = operator.get(reverse("automations:instances") + next_link)
    assert len(second.context["rows"]) == 5  # the search went with it: "a only" is not among them
    assert "?q=a%26b%2Bc&x=1+2%26y%3D3&state=failed" in links
    assert "?q=a%26b%2Bc&x=1+2%26y%3D3" in links  # "all" states
