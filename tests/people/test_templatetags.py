"""Template tags: the page-view hook and the task list tag."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client, RequestFactory, override_settings

from automations import events, flow
from automations.flow import this
from automations.models import AutomationModel
from automations.templatetags.automations import task_automation_name, task_description
from tests.people.flows import ForAda, open_task

pytestmark = pytest.mark.django_db


class PageWatcher(flow.Automation):
    watch = flow.Execute(this.record).AsSoonAs(lambda task: "seen" in task.data)
    end = flow.End()

    def record(self, task):
        self.data["recorded"] = True

    @flow.require_data_parameters(ref=int)
    def receive_viewed(self, token, data):
        self.data["seen"] = {"token": token, "ref": data.GET["ref"], "path": data.path}


def data_of(automation):
    return AutomationModel.objects.get(pk=automation.id).data


def render(source, request, **context):
    return Template("{% load automations %}" + source).render(Context({"request": request, **context}))


@pytest.fixture
def published(monkeypatch):
    """Capture what is published to the channel layer instead of sending it."""
    published_events = []
    monkeypatch.setattr(events, "publish", published_events.append)
    return published_events


# -- the page-view hook ---------------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.people.urls")
def test_a_page_view_sends_the_message_after_the_response_never_while_rendering(ada):
    automation = PageWatcher()
    response = Client().get(f"/hooked/{automation.id}/?ref=7")
    assert response.status_code == 200
    assert response["X-Seen-While-Rendering"] == "no"
    data = data_of(automation)
    assert data["seen"] == {"token": "tok", "ref": "7", "path": f"/hooked/{automation.id}/"}
    assert data["recorded"] is True
    assert automation.finished()


def test_the_hook_renders_nothing_and_waits_for_the_request_to_finish():
    automation = PageWatcher()
    request = RequestFactory().get("/somewhere/", {"ref": "3"})
    # As the test client does: keep the test's database connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
        assert render("{% automation_hook automation 'viewed' %}", request, automation=automation) == ""
        assert "seen" not in data_of(automation)
        request_finished.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert data_of(automation)["seen"]["ref"] == "3"
    assert automation.finished()


def test_outside_a_request_the_message_is_sent_at_once():
    automation = PageWatcher()
    request = RequestFactory().get("/", {"ref": "5"})
    render("{% automation_hook automation.get_key 'viewed' 'key' %}", request, automation=automation)
    assert data_of(automation)["seen"]["token"] == "key"


def test_missing_required_parameters_send_nothing(published, django_capture_on_commit_callbacks):
    automation = PageWatcher()
    for query in ({}, {"ref": "seven"}):
        render(
            "{% automation_hook automation.id 'viewed' %}",
            RequestFactory().get("/", query),
            automation=automation,
        )
    assert "seen" not in data_of(automation)
    with override_settings(ATM_WORKER=True), django_capture_on_commit_callbacks(execute=True):
        render(
            "{% automation_hook automation.id 'viewed' %}", RequestFactory().get("/"), automation=automation
        )
    assert published == []


def test_with_a_worker_the_message_is_published_after_the_commit(
    published, ada, django_capture_on_commit_callbacks
):
    automation = PageWatcher()
    request = RequestFactory().get("/page/", {"ref": "9", "x": ["1", "2"]})
    request.user = ada
    with override_settings(ATM_WORKER=True), django_capture_on_commit_callbacks(execute=True):
        render("{% automation_hook automation.id 'viewed' 'tok' %}", request, automation=automation)
    assert published == [
        {
            "type": "automation.message",
            "automation": automation.id,
            "message": "viewed",
            "token": "tok",
            "data": None,
            "request": {
                "GET": {"ref": ["9"], "x": ["1", "2"]},
                "path": "/page/",
                "method": "GET",
                "user": ada.pk,
            },
        }
    ]
    assert "seen" not in data_of(automation)


def test_class_targets_broadcast_or_create(published, django_capture_on_commit_callbacks):
    running = [PageWatcher(), PageWatcher()]
    path = PageWatcher.get_automation_class_name()
    request = RequestFactory().get("/", {"ref": "1"})
    render(f"{{% automation_hook '{path}' 'viewed' %}}", request)  # the class path written in the template
    assert all(data_of(automation)["recorded"] for automation in running)

    before = AutomationModel.objects.count()
    render("{% automation_hook cls 'viewed' create=True %}", request, cls=PageWatcher)  # the class itself
    assert AutomationModel.objects.count() == before + 1

    request.user = AnonymousUser()
    with override_settings(ATM_WORKER=True), django_capture_on_commit_callbacks(execute=True):
        render(f"{{% automation_hook '{path}' 'viewed' %}}", request)
        render(f"{{% automation_hook \"{path}\" 'viewed' create=True %}}", request)
    assert [(e["type"], e["automation_class"]) for e in published] == [
        ("automation.broadcast", path),
        ("automation.create", path),
    ]
    assert published[0]["request"]["user"] is None


def test_an_unknown_instance_is_ignored(published):
    request = RequestFactory().get("/", {"ref": "1"})
    assert (
        render("{% automation_hook 999999 'viewed' %}{% automation_hook 'no-such-key' 'viewed' %}", request)
        == ""
    )
    assert published == []


def test_the_hook_needs_the_request_in_the_context():
    with pytest.raises(TemplateSyntaxError, match="context_processors.request"):
        Template("{% load automations %}{% automation_hook 1 'viewed' %}").render(Context({}))


def test_an_unknown_message_is_a_programming_error():
    automation = PageWatcher()
    with pytest.raises(flow.UnknownMessageError):
        render(
            "{% automation_hook automation.id 'nothing' %}", RequestFactory().get("/"), automation=automation
        )


# -- the task list tag ------------------------------------------------------------------------------


def test_task_list_tag_renders_the_request_users_tasks(ada, bob):
    task = open_task(ForAda())
    request = RequestFactory().get("/")
    request.user = ada
    html = render("{% automation_task_list %}", request)
    assert f'data-atm-task="{task.pk}"' in html
    assert 'data-atm-socket="/ws/automations/tasks/"' in html
    request.user = bob
    assert f'data-atm-task="{task.pk}"' not in render("{% automation_task_list %}", request)
    assert f'data-atm-task="{task.pk}"' in render("{% automation_task_list someone %}", request, someone=ada)


def test_task_list_tag_shows_anonymous_users_nothing_and_opens_no_socket(ada):
    ForAda()
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    html = render("{% automation_task_list %}", request)
    assert "data-atm-task=" not in html
    assert "data-atm-socket" not in html and "tasks.js" not in html


def test_task_filters(ada):
    task = open_task(ForAda())
    assert task_description(task) == "Only for Ada"
    assert task_automation_name(task) == "Automation ForAda"
    AutomationModel.objects.filter(pk=task.automation_id).update(automation_class="gone.Automation")
    task.automation.refresh_from_db()
    assert task_description(task) == ""
    assert task_automation_name(task) == "gone.Automation"


def test_a_class_path_from_the_context_is_a_key_not_a_class():
    running = PageWatcher()
    path = PageWatcher.get_automation_class_name()
    render("{% automation_hook path 'viewed' %}", RequestFactory().get("/", {"ref": "1"}), path=path)
    assert "seen" not in data_of(running)


@pytest.mark.parametrize(
    "source",
    [
        "{% automation_hook %}",
        "{% automation_hook target %}",
        "{% automation_hook target 'm' 't' False 'extra' %}",
        "{% automation_hook target message='m' 't' %}",
        "{% automation_hook target 'm' colour='red' %}",
        "{% automation_hook target 'm' token='a' token='b' %}",
    ],
)
def test_wrong_hook_arguments_are_template_syntax_errors(source):
    with pytest.raises(TemplateSyntaxError):
        Template("{% load automations %}" + source)
