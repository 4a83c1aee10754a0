"""Notifications: who is told of what, opting out, the e-mail and webhook notifiers, retries and failures."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from automations import engine, flow, handover, notifications
from automations.notifications import delivery
from automations.notifications.base import Notifier
from automations.notifications.webhook import WebhookNotifier
from tests.approvals.automations import ExpenseApproval, TeamReview
from tests.approvals.forms import ApprovalForm
from tests.people.flows import ForReviewers, make_user, open_task

pytestmark = pytest.mark.django_db(transaction=True)  # versions remember committed rows: commit for real


class Failing(Notifier):
    calls = 0

    def send(self, notification):
        Failing.calls += 1
        raise ConnectionError("mail server down")


class Recording(Notifier):
    sent: list = []

    def send(self, notification):
        Recording.sent.append(notification)


RECORDING = ["tests.people.test_notifications.Recording"]


@pytest.fixture(autouse=True)
def nothing_recorded():
    Recording.sent, Failing.calls = [], 0


def declared_with_a_starter():
    """Return two classes that keep who started them, as the start form does (declared in a test:
    classes with a start form at module level would join every start menu of the suite)."""

    class Started(flow.Automation):
        class Meta:
            start_form = ApprovalForm
            start_user_key = "starter"

        ask = flow.Form(ApprovalForm).User(id=lambda task: task.data["starter"])
        end = flow.End()

    class StartedAndBroken(flow.Automation):
        class Meta:
            start_form = ApprovalForm
            start_user_key = "starter"

        fail = flow.Execute(lambda task: 1 / 0)
        end = flow.End()

    return Started, StartedAndBroken


def test_a_task_for_a_user_tells_them_by_e_mail(django_capture_on_commit_callbacks):
    make_user("ada"), make_user("root", superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        automation = ExpenseApproval(requester="ada", approver="root")
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    message = mail.outbox[0]
    assert message.subject == f"A task waits for you: Enter your expense · Expense approval #{automation.id}"
    assert f"/automations/tasks/{open_task(automation).pk}/" in message.body
    assert "Hello ada" in message.body and "&" not in message.body


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_a_task_for_a_group_tells_its_members_and_nobody_else(django_capture_on_commit_callbacks):
    make_user("mia", groups=["Reviewers"], permissions=["approvals.approve_expense"])
    make_user("max", groups=["Reviewers"])  # lacks the permission: may not process it
    make_user("root", superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        TeamReview()
    assert [(n.kind, n.username) for n in Recording.sent] == [("task_assigned", "mia")]


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_a_hand_over_tells_the_new_holder(reviewer, django_capture_on_commit_callbacks):
    ruth = make_user("ruth", groups=["Reviewers"])
    task = open_task(ForReviewers())
    Recording.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        handover.reassign(reviewer, task, to_user=ruth)
    assert [(n.kind, n.username, n.context["task"]) for n in Recording.sent] == [
        ("task_assigned", "ruth", task.pk)
    ]


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_who_opted_out_is_not_told(django_capture_on_commit_callbacks):
    ada, bob = make_user("ada"), make_user("bob")
    notifications.opt_out(ada, "task_assigned")
    notifications.opt_out(bob)
    with django_capture_on_commit_callbacks(execute=True):
        sent = notifications.notify("task_assigned", [ada, bob, ada.pk], summary="x")
        notifications.notify("instance_finished", [ada], automation=1)
    assert sent == [] and [(n.kind, n.username) for n in Recording.sent] == [("instance_finished", "ada")]
    with pytest.raises(ValueError, match="Unknown notification kind 'tsk'"):
        notifications.opt_out(ada, "tsk")


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_the_starter_is_told_when_the_instance_finishes_or_fails(django_capture_on_commit_callbacks, clock):
    ada = make_user("ada")
    Started, StartedAndBroken = declared_with_a_starter()
    with django_capture_on_commit_callbacks(execute=True):
        Started(starter=ada.pk)
        StartedAndBroken(starter=ada.pk)
    kinds = [n.kind for n in Recording.sent]
    assert kinds == ["task_assigned", "instance_failed"]
    assert "ZeroDivisionError" in Recording.sent[1].context["error"]
    automation = Recording.sent[0].context["automation"]
    task = open_task(Started(automation_id=automation))
    with django_capture_on_commit_callbacks(execute=True):
        engine.advance(automation, submission=engine.Submission(task_id=task.pk, result={}, user=ada))
    assert [n.kind for n in Recording.sent][-1] == "instance_finished"


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_the_deadline_hook_tells_those_the_task_waits_for(django_capture_on_commit_callbacks):
    make_user("ada"), make_user("root", superuser=True)
    automation = ExpenseApproval(requester="ada", approver="root")
    Recording.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notifications.deadline(open_task(automation), passed=True)
    assert [(n.kind, n.username) for n in Recording.sent] == [("deadline_passed", "ada")]


@override_settings(
    ATM_NOTIFIERS=["tests.people.test_notifications.Failing", *RECORDING], ATM_NOTIFY_ATTEMPTS=3
)
def test_a_failing_notifier_is_tried_again_logged_and_never_breaks_the_step(
    django_capture_on_commit_callbacks, caplog
):
    make_user("ada"), make_user("root", superuser=True)
    with caplog.at_level(logging.ERROR, "automations.notifications"):
        with django_capture_on_commit_callbacks(execute=True):
            automation = ExpenseApproval(requester="ada", approver="root")
    assert open_task(automation).status == "enter"  # the step went on
    assert Failing.calls == 3 and len(Recording.sent) == 1  # the other notifier still sent
    assert "Could not send the task_assigned notification to user" in caplog.text
    assert "after 3 attempts: ConnectionError('mail server down')" in caplog.text


def test_sending_in_the_background_leaves_the_committing_thread_at_once():
    release = threading.Event()

    class Slow(Notifier):
        def send(self, notification):
            release.wait(5)
            Recording.sent.append(notification)

    note = notifications.Notification("task_assigned", 1, "ada", "", {})
    with override_settings(ATM_NOTIFY_IN_BACKGROUND=True):
        future = delivery._background().submit(delivery.deliver_all, [Slow()], [note])
        assert not future.done()
        release.set()
        assert future.result(timeout=5) == 0
    assert Recording.sent == [note]


@override_settings(ATM_NOTIFIERS=["no.such.Notifier"])
def test_a_notifier_that_cannot_be_imported_is_named():
    with pytest.raises(ImproperlyConfigured, match="ATM_NOTIFIERS names 'no.such.Notifier'"):
        delivery.send([notifications.Notification("task_assigned", 1, "ada", "", {})])


def test_the_webhook_notifier_posts_json():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    notifier = WebhookNotifier(url=f"http://127.0.0.1:{server.server_port}/hook")
    notifier.send(notifications.Notification("task_assigned", 7, "ada", "", {"task": 3}))
    thread.join(5)
    server.server_close()
    assert received == [
        {"kind": "task_assigned", "user": {"id": 7, "username": "ada"}, "context": {"task": 3}}
    ]
    with pytest.raises(ImproperlyConfigured, match="needs an http"):
        WebhookNotifier()


class ReviewWithinTwoDays(flow.Automation):
    ask = flow.Form(ApprovalForm).Group(name="Reviewers").Deadline(days=2, then="self.escalate")
    escalate = flow.Execute(lambda task: "escalated")
    end = flow.End()


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_a_form_whose_deadline_passed_tells_those_it_waited_for(django_capture_on_commit_callbacks):
    from automations.testing import frozen_clock

    make_user("mia", groups=["Reviewers"])
    with frozen_clock() as clock:
        automation = ReviewWithinTwoDays()
        task = open_task(automation)
        Recording.sent.clear()
        clock.jump(days=2, minutes=1)
        with django_capture_on_commit_callbacks(execute=True):
            engine.advance(automation.id)
    assert [(n.kind, n.username, n.context["task"]) for n in Recording.sent] == [
        ("deadline_passed", "mia", task.pk)
    ]
