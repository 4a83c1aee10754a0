"""With a scheduler worker (``ATM_WORKER``), requests hand work on instead of doing it in place."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from automations import engine, events, flow, page_views
from automations.events import inbox
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel
from tests.people.flows import ForAda, make_user, open_task
from tests.testapp.automations import Napper

pytestmark = pytest.mark.django_db


class Offloaded(flow.Automation):
    work = flow.Execute(this.note_worker, threaded=True)

    def note_worker(self, task):
        from automations.events import wakeups

        self.data["by_worker"] = wakeups.handling_event()


@pytest.fixture
def published(settings, monkeypatch):
    """Turn the worker on; collect published events instead of sending them."""
    settings.ATM_WORKER = True
    sent = []
    monkeypatch.setattr(events, "publish_wake", lambda pk, at=None: sent.append(events.wake_event(pk, at)))
    monkeypatch.setattr(events, "publish", lambda event, **options: (events.validate(events.with_id(event)),
                                                                        sent.append(event)))  # fmt: skip
    return sent


def test_a_submitted_form_is_recorded_in_the_request_and_the_worker_goes_on(
    published, django_capture_on_commit_callbacks
):
    ada = make_user("ada")
    automation = ForAda()
    task = open_task(automation)
    client = Client()
    client.force_login(ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("automations:task", args=[task.pk]), {"approved": "on"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.finished is not None and task.finished_by == ada and task.result["approved"] is True
    row = AutomationModel.objects.get(pk=automation.id)
    assert not row.finished and row.wake_at is not None  # due now: the worker (or a sweep) ends it
    assert [event["automation"] for event in published] == [automation.id]
    with engine_as_worker():
        inbox.handle(events.validate(events.with_id(published[0])))
    assert AutomationModel.objects.get(pk=automation.id).finished


def test_a_threaded_execute_is_handed_to_the_worker(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        automation = Offloaded()
    assert not automation.finished()
    assert AutomationTaskModel.objects.filter(automation_id=automation.id, finished=None).exists()
    assert [event["automation"] for event in published] == [automation.id]
    inbox.handle(events.validate(events.with_id(published[0])))
    assert automation.finished()
    assert AutomationModel.objects.get(pk=automation.id).data == {"by_worker": True}


def test_a_page_view_with_a_worker_publishes_a_message_event(published, django_capture_on_commit_callbacks):
    napper = Napper(seconds=60)
    request = RequestFactory().get("/rooms/", {"room": "4"})
    request.user = make_user("ada")
    with django_capture_on_commit_callbacks(execute=True):
        assert page_views.page_viewed(request, napper.id, "visit", "hall")
    assert published == [
        {"type": "automation.message", "automation": napper.id, "message": "visit", "token": "hall",
         "data": None, "request": {"GET": {"room": ["4"]}, "path": "/rooms/", "method": "GET",
                                   "user": request.user.pk}}
    ]  # fmt: skip
    assert "visits" not in AutomationModel.objects.get(pk=napper.id).data  # not delivered in the request
    inbox.handle(events.validate(events.with_id(published[0])))
    assert AutomationModel.objects.get(pk=napper.id).data["visits"] == [
        {"token": "hall", "room": "4", "user": "ada", "path": "/rooms/"}
    ]


def engine_as_worker():
    from automations.events import wakeups

    return wakeups.event_scope()


def test_a_message_with_a_worker_marks_the_instance_due_and_publishes_a_wake(
    published, django_capture_on_commit_callbacks
):
    napper = Napper(seconds=0, sleepy=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert napper.send_message("wake_up") == "awake"
    assert not napper.finished()
    assert AutomationModel.objects.get(pk=napper.id).wake_at is not None
    assert published[-1] == events.wake_event(napper.id)
    engine.sweep()
    assert napper.finished()


def test_a_page_view_the_channel_refuses_is_delivered_in_place(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    from channels.exceptions import ChannelFull

    settings.ATM_WORKER = True
    napper = Napper(seconds=60)

    def full(event):
        raise ChannelFull()

    monkeypatch.setattr(events, "publish", full)
    request = RequestFactory().get("/rooms/", {"room": "5"})
    request.user = make_user("ada")
    with django_capture_on_commit_callbacks(execute=True):
        assert page_views.page_viewed(request, napper.id, "visit", "hall")
    assert AutomationModel.objects.get(pk=napper.id).data["visits"][0]["room"] == "5"
