"""The page-view hook as a visitor attacks it: ``?key=`` chooses the target of a hook in a page.

The page renders ``{% automation_hook request.GET.key "page_viewed" %}``, the obvious use of
``get_key()`` links. Only a real key may select an instance; ids, class paths and garbage send
nothing and never fail the page.
"""

import logging

import pytest
from django.http import HttpResponse
from django.template import engines
from django.test import Client, override_settings
from django.urls import path

from automations import flow
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel

pytestmark = pytest.mark.django_db

PAGE = engines["django"].from_string(
    '{% load automations %}<p>Pricing</p>{% automation_hook request.GET.key "page_viewed" %}'
)


def pricing(request):
    return HttpResponse(PAGE.render({}, request))


urlpatterns = [path("pricing/", pricing)]


class Journey(flow.Automation):
    wait = flow.Execute(this.note).AsSoonAs(lambda task: "viewed" in task.data)
    end = flow.End()

    def note(self, task):
        self.data["noted"] = True

    def receive_page_viewed(self, token, data):
        self.data["viewed"] = data.GET.get("key")


class Mute(flow.Automation):
    wait = flow.Execute(this.note).AsSoonAs(lambda task: False)

    def note(self, task):
        pass


def viewed(automation):
    return "viewed" in AutomationModel.objects.get(pk=automation.id).data


def visit(query: str):
    return Client(raise_request_exception=False).get("/pricing/?" + query)


@pytest.fixture(autouse=True)
def _urls():
    with override_settings(ROOT_URLCONF=__name__):
        yield


def test_the_instances_key_delivers_the_message():
    journey = Journey()
    response = visit("key=" + journey.get_key())
    assert response.status_code == 200
    assert viewed(journey)


def test_a_guessable_id_delivers_nothing():
    mine, theirs = Journey(), Journey()
    for key in (str(theirs.id), f"{theirs.id:05d}", f" {theirs.id}"):
        assert visit("key=" + key).status_code == 200
    assert not viewed(theirs) and not viewed(mine)


def test_a_class_path_does_not_broadcast():
    journeys = [Journey(), Journey()]
    for key in (Journey.get_automation_class_name(), "automations.flow.Automation"):
        assert visit("key=" + key).status_code == 200
    assert not any(viewed(journey) for journey in journeys)


@pytest.mark.parametrize(
    "query",
    [
        "key=os.system",
        "key=%C2%B2",  # "²": a digit to str.isdigit(), not to int()
        "key=%00",
        "key=" + "a" * 5000,
        "key=",
        "key=..",
        "key=%0Aforged%20log%20line",
        "",
        "key=1&key=2",
    ],
)
def test_malformed_keys_send_nothing_and_never_fail_the_page(query, caplog):
    journey = Journey()
    with caplog.at_level(logging.INFO, logger="automations"):
        response = visit(query)
    assert response.status_code == 200
    assert response.content == b"<p>Pricing</p>"
    assert not viewed(journey)
    assert all("\n" not in record.getMessage() for record in caplog.records)
    assert all(len(record.getMessage()) < 600 for record in caplog.records)


def test_the_key_of_an_automation_without_the_receiver_sends_nothing():
    mute = Mute()
    before = AutomationModel.objects.get(pk=mute.id)
    rows = AutomationTaskModel.objects.filter(automation_id=mute.id).values_list("pk", "finished")
    tasks = list(rows)
    response = visit("key=" + mute.get_key())
    assert response.status_code == 200 and response.content == b"<p>Pricing</p>"
    after = AutomationModel.objects.get(pk=mute.id)
    assert (after.data, after.wake_at, after.error) == (before.data, before.wake_at, before.error)
    assert list(rows.all()) == tasks  # read again: no task opened, finished or added
