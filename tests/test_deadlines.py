"""Deadlines: a waiting node left by a stated route once its time is up, late but once if no one ran."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User

from automations import flow
from automations.flow import this
from automations.flow.deadlines import EXPIRED
from automations.models import AutomationModel, AutomationTaskModel, Status
from automations.tasklist.inbox import build_inbox, deadline_text
from automations.tasklist.queries import open_tasks_for
from tests.approvals.forms import ApprovalForm
from tests.helpers import row, statuses

pytestmark = pytest.mark.django_db


class Purchase(flow.Automation):
    approve = flow.Form(ApprovalForm).Group(name="Buyers").Deadline(days=2, then=this.escalate)
    approved = flow.Execute(this.note, False, "approved").Next(this.end)
    escalate = (
        flow.Form(ApprovalForm).Group(name="Heads").Deadline(weeks=1, then=this.cancel).Next(this.approved)
    )
    cancel = flow.Execute(this.note, False, "cancelled").Next(this.end)
    end = flow.End()

    def note(self, task, text):
        self.data.setdefault("notes", []).append(text)


def open_task(automation):
    return AutomationTaskModel.objects.get(automation_id=automation.id, finished=None)


@pytest.fixture
def groups():
    return Group.objects.create(name="Buyers"), Group.objects.create(name="Heads")


def test_a_form_escalates_after_two_days_and_is_cancelled_after_a_week(clock, groups):
    purchase = Purchase()
    task = open_task(purchase)
    assert task.status == "approve" and task.deadline == clock.now + timedelta(days=2)
    assert row(purchase).wake_at == task.deadline
    assert row(purchase).status == Status.WAITING_FOR_PERSON

    clock.advance(days=2)
    assert AutomationTaskModel.objects.get(automation_id=purchase.id, status="approve").message == EXPIRED
    escalated = open_task(purchase)
    assert escalated.status == "escalate" and escalated.interaction_group == groups[1]
    assert escalated.deadline == clock.now + timedelta(weeks=1)

    clock.advance(weeks=1)
    assert row(purchase).data["notes"] == ["cancelled"] and row(purchase).finished


def test_an_answer_before_the_deadline_takes_the_usual_way(clock, groups):
    from automations import testing

    purchase = Purchase()
    boss = User.objects.create_user("boss")
    boss.groups.add(groups[0])
    clock.advance(days=1)
    testing.submit(purchase, {"approved": True}, user=boss)
    clock.advance(days=5)
    assert row(purchase).data["notes"] == ["approved"]
    assert "escalate" not in statuses(purchase)


def test_a_deadline_that_passes_while_no_worker_runs_fires_late_and_once(clock, groups):
    purchase = Purchase()
    clock.jump(days=3)  # nobody steps anything for three days
    AutomationModel.run()  # the worker (or automation_step) comes back
    AutomationModel.run()
    assert statuses(purchase).count("approve") == 1 and statuses(purchase).count("escalate") == 1
    escalated = open_task(purchase)
    # Counted from when the escalation was reached (late), so it still gets its full week.
    assert escalated.created == clock.now and escalated.deadline == clock.now + timedelta(weeks=1)


class Delivery(flow.Automation):
    wait = flow.Execute(this.ship).AsSoonAs(this.is_paid).Deadline(hours=4, then=this.remind)
    end = flow.End()
    remind = flow.Execute(this.note).Next(this.end)

    def is_paid(self, task):
        return self.data.get("paid", False)

    def ship(self, task):
        self.data["shipped"] = True

    def note(self, task):
        self.data["reminded"] = True


def test_a_condition_wait_takes_its_deadline_route(clock):
    delivery = Delivery()
    assert row(delivery).status == Status.WAITING_FOR_MESSAGE
    clock.advance(hours=4)
    assert row(delivery).data == {"reminded": True} and row(delivery).finished


def test_the_deadline_bounds_a_longer_timer(clock):
    class Slow(flow.Automation):
        pause = flow.Execute().AfterWaitingFor(timedelta(days=10)).Deadline(timedelta(days=1))
        end = flow.End()

    slow = Slow()
    assert row(slow).wake_at == clock.now + timedelta(days=1)
    clock.advance(days=1)
    assert AutomationTaskModel.objects.get(automation_id=slow.id, status="pause").message == EXPIRED
    assert slow.finished()  # no `then`: the node's successor


def test_skip_after_still_skips():
    class Skipping(flow.Automation):
        wait = flow.Execute().AsSoonAs(False).SkipAfter(timedelta(hours=1))
        end = flow.End()

    skipping = Skipping()
    assert row(skipping).wake_at is not None


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({}, "needs a time"),
        ({"duration": timedelta(days=1), "days": 2}, "give a duration or days=, not both"),
        ({"duration": 3}, "must be a timedelta or a callable"),
    ],
)
def test_bad_deadlines_are_refused_with_the_fix(arguments, words):
    with pytest.raises((TypeError, ValueError), match=words):
        flow.Form(ApprovalForm).Deadline(**arguments)


def test_an_unknown_route_is_a_declaration_error():
    with pytest.raises(flow.AutomationDeclarationError, match="Deadline"):

        class Lost(flow.Automation):
            ask = flow.Form(ApprovalForm).Deadline(days=1, then=this.nowhere)
            end = flow.End()


def test_the_inbox_shows_the_deadline_and_puts_the_soonest_first(clock, groups):
    buyer = User.objects.create_user("buyer")
    buyer.groups.add(groups[0], groups[1])

    class Plain(flow.Automation):
        ask = flow.Form(ApprovalForm).Group(name="Buyers")
        end = flow.End()

    plain = Plain()  # the oldest, without a deadline
    clock.jump(hours=1)
    first = Purchase()  # due in two days
    clock.jump(hours=1)
    second = Purchase()  # due an hour after the first
    clock.jump(hours=47)  # the first is due now
    tasks = list(open_tasks_for(buyer))
    assert [task.automation_id for task in tasks] == [first.id, second.id, plain.id]
    inbox = build_inbox(tasks, buyer)
    assert [task.automation_id for task in inbox.queue] == [first.id, second.id, plain.id]
    assert deadline_text(tasks[0]) == "due in less than a minute"
    assert deadline_text(tasks[1]) == "due in 1 hour"
    assert deadline_text(tasks[2]) == ""
    clock.jump(hours=3)
    assert deadline_text(AutomationTaskModel.objects.get(pk=tasks[0].pk)) == "overdue by 3 hours"
