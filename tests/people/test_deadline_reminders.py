"""Reminders of approaching deadlines: once per open form task, whatever the number of sweeps and workers."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from automations import engine, flow
from automations.models import AutomationTaskModel
from automations.notifications import reminders
from automations.notifications.base import Notifier
from automations.worker import database as worker_database
from tests.approvals.forms import ApprovalForm
from tests.helpers import require_postgres
from tests.people.flows import make_user, open_task

pytestmark = pytest.mark.django_db(transaction=True)


class Recording(Notifier):
    sent: list = []

    def send(self, notification):
        Recording.sent.append(notification)


RECORDING = ["tests.people.test_deadline_reminders.Recording"]


@pytest.fixture(autouse=True)
def nothing_recorded():
    Recording.sent = []


class ReviewWithinTwoDays(flow.Automation):
    ask = flow.Form(ApprovalForm).Group(name="Reviewers").Deadline(days=2, then="self.escalate")
    escalate = flow.Execute(lambda task: "escalated")
    end = flow.End()


class WaitWithinTwoDays(flow.Automation):
    """A deadline on a node that is no form: nobody to remind."""

    wait = flow.Execute(lambda task: None).AsSoonAs(lambda task: False).Deadline(days=2, then="self.end")
    end = flow.End()


def reminded():
    return [(n.kind, n.username, n.context["task"]) for n in Recording.sent]


@pytest.fixture
def review(clock):
    make_user("mia", groups=["Reviewers"])
    with override_settings(ATM_NOTIFIERS=[]):  # nobody told of the task itself
        return ReviewWithinTwoDays()


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_a_form_is_reminded_once_when_its_deadline_comes_within_four_hours(review, clock):
    task = open_task(review)
    assert task.deadline == clock.now + timedelta(days=2)
    clock.jump(days=1)
    assert reminders.remind_approaching_deadlines() == 0 and reminded() == []
    clock.jump(hours=20, minutes=1)  # 3 h 59 min before the deadline
    assert reminders.remind_approaching_deadlines() == 1
    assert reminded() == [("deadline_approaching", "mia", task.pk)]
    assert engine.sweep_jobs.run() == {"remind_approaching_deadlines": 0}  # the next sweep: no second one
    assert len(Recording.sent) == 1
    task.refresh_from_db()
    assert task.deadline_reminded == clock.now
    clock.jump(hours=4)  # the deadline passes: the engine tells, the reminders do not
    engine.advance(review.id)
    assert [n.kind for n in Recording.sent] == ["deadline_approaching", "deadline_passed"]


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_two_workers_sweeping_remind_once(review, clock):
    clock.jump(days=1, hours=21)
    assert worker_database.after_sweep(60) is not None  # the worker's sweep runs the jobs ...
    assert worker_database.after_sweep(60) is not None  # ... and another worker's sweep too
    assert [kind for kind, _, _ in reminded()] == ["deadline_approaching"]


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_automation_step_reminds_too(review, clock, capsys):
    clock.jump(days=1, hours=21)
    call_command("automation_step", "--no-channel")
    call_command("automation_step", "--no-channel")
    assert [kind for kind, _, _ in reminded()] == ["deadline_approaching"]


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_no_reminder_for_a_finished_task_a_passed_deadline_or_a_node_that_is_no_form(review, clock):
    AutomationTaskModel.objects.filter(pk=open_task(review).pk).update(finished=clock.now)
    passed = ReviewWithinTwoDays()
    no_form = open_task(WaitWithinTwoDays())
    assert no_form.deadline == clock.now + timedelta(days=2)
    AutomationTaskModel.objects.filter(pk=no_form.pk).update(
        interaction_user=User.objects.get(username="mia")
    )
    clock.jump(days=1, hours=21)
    AutomationTaskModel.objects.filter(pk=open_task(passed).pk).update(deadline=clock.now)
    assert reminders.remind_approaching_deadlines() == 0
    waiting = ReviewWithinTwoDays()
    soon = clock.now + timedelta(hours=1)
    AutomationTaskModel.objects.filter(pk=open_task(waiting).pk).update(deadline=soon)
    Recording.sent.clear()
    assert reminders.remind_approaching_deadlines() == 1
    assert reminded() == [("deadline_approaching", "mia", open_task(waiting).pk)]


@override_settings(ATM_NOTIFIERS=[])
def test_without_notifiers_nothing_is_claimed_or_looked_up(review, clock, django_assert_num_queries):
    clock.jump(days=1, hours=21)
    with django_assert_num_queries(0):
        assert reminders.remind_approaching_deadlines() == 0
    assert open_task(review).deadline_reminded is None


@override_settings(ATM_NOTIFIERS=RECORDING, ATM_NOTIFY_DEADLINE_AHEAD=0)
def test_no_reminders_when_turned_off(review, clock):
    clock.jump(days=1, hours=23)
    assert reminders.remind_approaching_deadlines() == 0 and reminded() == []


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_a_failing_job_is_logged_and_the_others_still_run(caplog):
    ran = []

    def broken():
        raise RuntimeError("no database")

    def counting():
        ran.append(1)
        return 2

    for job in (broken, counting):
        engine.sweep_jobs.register(job)
    try:
        counts = engine.sweep_jobs.run()
    finally:
        engine.sweep_jobs.unregister(broken), engine.sweep_jobs.unregister(counting)
    assert counts["broken"] == 0 and counts["counting"] == 2 and ran == [1]
    assert "Sweep job 'broken' failed" in caplog.text


def test_the_search_uses_the_partial_index(clock):
    with CaptureQueriesContext(connection) as queries:
        list(reminders.due_reminders())
    [sql] = [query["sql"] for query in queries.captured_queries]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a nearly empty table: a scan is cheaper
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "automations_task_remind" in plan


@override_settings(ATM_NOTIFIERS=RECORDING)
def test_workers_claiming_at_the_same_moment_remind_once_on_postgres(clock):
    require_postgres()
    make_user("mia", groups=["Reviewers"])
    reviews = [ReviewWithinTwoDays() for _ in range(10)]
    Recording.sent.clear()
    clock.jump(days=1, hours=21)
    start, counts = threading.Barrier(4), []

    def worker():
        try:
            start.wait(5)
            counts.append(reminders.remind_approaching_deadlines())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(counts) == 10 and len(counts) == 4
    assert sorted(n.context["task"] for n in Recording.sent) == sorted(open_task(r).pk for r in reviews)
