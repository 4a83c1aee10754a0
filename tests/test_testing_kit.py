"""The test kit for people who write automations: ``automations.testing``."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django import forms
from django.contrib.auth.models import User
from django.test import TestCase, override_settings
from django.utils import timezone

from automations import flow, testing
from automations.flow import this
from automations.models import AutomationModel

pytestmark = pytest.mark.django_db

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


class Onboarding(flow.Automation):
    """A 30-day journey: three waits and a weekly digest sent four times."""

    welcome = flow.Execute(this.note)
    tip = flow.Execute(this.note).AfterWaitingFor(timedelta(days=2))
    checkin = flow.Execute(this.note).AfterWaitingFor(timedelta(days=3))
    settle = flow.Execute(this.note).AfterWaitingFor(timedelta(days=3))
    digest = flow.Execute(this.note)
    weekly = flow.Repeat(this.digest).EveryNDays(7).SkipIf(this.enough)
    end = flow.End()

    def note(self, task):
        self.data.setdefault("log", []).append([task.status, timezone.now().isoformat()])

    def enough(self, task):
        return sum(1 for name, _ in self.data.get("log", []) if name == "digest") >= 4


class Survey(flow.Automation):
    """Ask, wait for the answer at most five days, then settle a day later."""

    ask = flow.Execute(this.note)
    survey = flow.Execute(this.note).AsSoonAs(this.answered).SkipAfter(timedelta(days=5))
    settle = flow.Execute(this.note).AfterWaitingFor(timedelta(days=1))
    end = flow.End()

    note = Onboarding.note

    def answered(self, task):
        return self.data.get("answered", False)

    def receive_answer(self, token, data):
        self.data["answered"] = True


def visits(automation, node):
    row = AutomationModel.objects.get(pk=automation.id)
    return [datetime.fromisoformat(at) for name, at in row.data.get("log", []) if name == node]


def test_a_thirty_day_journey_completes_under_a_frozen_clock_without_waiting():
    with testing.frozen_clock(START) as clock:
        started = time.perf_counter()
        journey = Onboarding()
        clock.advance(days=30)
        elapsed = time.perf_counter() - started

    assert journey.finished()
    # Nothing waits for real time: the journey's own waits are days long. (How fast it runs is
    # the benchmarks' business; this bound only holds on a machine under any load.)
    assert elapsed < 30
    assert visits(journey, "tip") == [START + timedelta(days=2)]
    assert visits(journey, "checkin") == [START + timedelta(days=5)]
    assert visits(journey, "settle") == [START + timedelta(days=8)]
    assert visits(journey, "digest") == [START + timedelta(days=8 + 7 * week) for week in range(4)]
    assert testing.path(journey)[:4] == ["welcome", "tip", "checkin", "settle"]
    assert testing.path(journey)[-2:] == ["weekly", "end"]


def test_advance_fires_what_falls_due_in_time_order_across_instances():
    fired = []

    class Reminder(flow.Automation):
        remind = flow.Execute(this.note).AfterWaitingFor(this.delay)

        def delay(self, task):
            return timedelta(hours=self.data["hours"])

        def note(self, task):
            fired.append((self.data["name"], timezone.now()))

    with testing.frozen_clock(START) as clock:
        for name, hours in [("late", 30), ("early", 2), ("middle", 7)]:
            Reminder(name=name, hours=hours)
        moved = clock.advance(days=2)
        assert clock.now == START + timedelta(days=2)

    assert fired == [
        ("early", START + timedelta(hours=2)),
        ("middle", START + timedelta(hours=7)),
        ("late", START + timedelta(hours=30)),
    ]
    assert [m.finished for m in moved] == [True, True, True]


def test_the_clock_freezes_the_time_and_gives_it_back():
    real = timezone.now
    with testing.frozen_clock(START) as clock:
        assert timezone.now() == START
        clock.advance(minutes=5)
        assert timezone.now() == START + timedelta(minutes=5) == clock.now
    assert timezone.now is real
    with pytest.raises(ValueError, match="only moves forward"):
        testing.frozen_clock(START).__enter__().advance(hours=-1)
    timezone.now = real


@testing.frozen_clock(START)
def test_the_clock_is_a_decorator_too():
    assert timezone.now() == START


def test_the_clock_moves_by_a_timedelta_or_its_arguments_and_nothing_else():
    with testing.frozen_clock(START) as clock:
        clock.advance(timedelta(hours=1))
        clock.advance(timedelta(hours=1), minutes=30)
        assert clock.now == START + timedelta(hours=2, minutes=30)
        with pytest.raises(TypeError, match="by a timedelta or by timedelta's arguments; got 3"):
            clock.advance(3)
        with pytest.raises(ValueError, match="only moves forward: 2030-01-07T09:00:00"):
            clock.advance_to(START)
        with pytest.raises(TypeError, match="moves to a datetime"):
            clock.jump_to("2030-01-08")
    with pytest.raises(RuntimeError, match="not frozen"):
        clock.advance(days=1)


def test_jump_moves_the_time_without_running_anything():
    with testing.frozen_clock(START) as clock:
        survey = Survey()
        clock.jump(days=5)  # the scheduler was down: SkipAfter has not fired yet
        testing.assert_at(survey, "survey")
        assert AutomationModel.objects.get(pk=survey.id).wake_at < clock.now
        clock.jump_to(START + timedelta(days=7))
        moved = testing.run_until_idle()
        assert [m.at for m in moved] == [("settle",)]
        assert visits(survey, "survey") == []  # skipped, late: two days after its five
        clock.advance(days=1)  # the day's wait counts from then
    assert visits(survey, "settle") == [START + timedelta(days=8)]
    assert survey.finished()


sync_clock = testing.frozen_clock(START)


@sync_clock
async def test_the_clock_decorates_async_tests():
    assert timezone.now() == START
    await sync_clock.aadvance(hours=2)
    assert timezone.now() == START + timedelta(hours=2)


@pytest.mark.django_db(transaction=True)
@testing.frozen_clock(START)
async def test_advance_runs_what_falls_due_from_an_async_test():
    from asgiref.sync import sync_to_async

    clock = timezone.now
    survey = await sync_to_async(Survey)()
    await sync_to_async(testing.send)(survey, "answer")
    moved = await sync_to_async(clock.advance)(days=1)
    assert [m.finished for m in moved] == [True]
    assert await sync_to_async(survey.finished)()


@testing.frozen_clock(START + timedelta(days=1))
class TestAPlainClassOfTests:
    def test_each_test_method_is_frozen(self):
        assert timezone.now() == START + timedelta(days=1)
        timezone.now.advance(hours=1)

    async def test_and_so_is_an_async_one(self):
        assert timezone.now() == START + timedelta(days=1)  # each test starts again at the start


def test_conditions_are_rechecked_and_skip_after_fires_on_the_way():
    with testing.frozen_clock(START, recheck=timedelta(hours=6)) as clock:
        survey = Survey()
        clock.advance(days=4)
        testing.assert_at(survey, "survey")
        AutomationModel.objects.filter(pk=survey.id).update(data={"answered": True})  # not woken
        clock.advance(hours=5)
        testing.assert_at(survey, "survey")
        clock.advance(hours=1)  # the re-check six hours after the last one sees the answer
        testing.assert_at(survey, "settle")

        unanswered = Survey()
        clock.advance(days=6)
    assert testing.path(unanswered) == ["ask", "survey", "settle", "end"]
    assert visits(unanswered, "survey") == []  # skipped after five days
    assert visits(unanswered, "settle") == [START + timedelta(days=10, hours=6)]  # created at 4 days 6 h


def test_messages_and_events_move_the_instance_and_the_helpers_say_where_it_is():
    with testing.frozen_clock(START, recheck=timedelta(hours=1)) as clock:
        survey = Survey()
        testing.assert_at(survey, "survey")
        with pytest.raises(AssertionError, match=r"at 'settle', but Survey #\d+ waits at 'survey'"):
            testing.assert_at(survey, "settle")
        clock.advance(days=2)
        testing.send(survey, "answer")
        assert visits(survey, "survey") == [START + timedelta(days=2)]
        testing.assert_at(survey, "settle")

        other = Survey()
        outcome = testing.publish({"type": "automation.message", "automation": other.id, "message": "answer"})
        assert outcome == "applied"
        testing.assert_at(other, "settle")
        assert testing.paths(other) == {"": ["ask", "survey", "settle"]}


def test_run_until_idle_raises_with_an_account_of_what_keeps_moving():
    class Spinner(flow.Automation):
        spin = flow.Execute(this.turn).Next(this.spin)

        def turn(self, task):
            self.data["turns"] = self.data.get("turns", 0) + 1

    with testing.frozen_clock(START), override_settings(ATM_STEP_NODE_LIMIT=10):
        Spinner()
        with pytest.raises(testing.NotIdleError, match=r"after 3 steps(.|\n)*Spinner #\d+ is due again"):
            testing.run_until_idle(max_steps=3)


# -- people -----------------------------------------------------------------------------------------


class ApprovalForm(forms.Form):
    amount = forms.IntegerField(max_value=1000)


class Approval(flow.Automation):
    approve = flow.Form(ApprovalForm, description="Approve the amount.").User(username="ada")
    end = flow.End()


@pytest.fixture
def ada():
    return User.objects.create_user("ada")


def test_submit_goes_through_the_task_view_and_the_instance_goes_on(ada):
    approval = Approval()
    assert testing.open_tasks(ada) == [testing.open_tasks(ada)[0]]
    task = testing.submit(approval, {"amount": 200}, user=ada)
    assert task.result == {"amount": 200}
    assert task.finished_by == ada
    assert approval.finished()
    assert testing.open_tasks(ada) == []


def test_submit_refuses_a_user_the_task_is_not_assigned_to(ada):
    approval = Approval()
    bob = User.objects.create_user("bob")
    assert testing.open_tasks(bob) == []
    with pytest.raises(AssertionError, match=r"bob may not process task #\d+ \('approve'\)"):
        testing.submit(approval, {"amount": 200}, user=bob)
    testing.assert_at(approval, "approve")


def test_submit_fails_with_the_form_errors(ada):
    approval = Approval()
    with pytest.raises(AssertionError, match="was refused.*amount.*less than or equal to 1000"):
        testing.submit(approval, {"amount": 5000}, user=ada)
    testing.assert_at(approval, "approve")


# -- the pytest plugin and the TestCase mixin -------------------------------------------------------


def test_the_clock_fixture_freezes_the_time(automation_clock):
    assert timezone.now() == automation_clock.now == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    survey = Survey()
    testing.send(survey, "answer")
    automation_clock.advance(days=1)
    assert testing.path(survey) == ["ask", "survey", "settle", "end"]


@pytest.mark.django_db(transaction=True)
async def test_the_worker_fixture_handles_published_events(automation_worker):
    from channels.db import database_sync_to_async

    from automations import events

    survey = await database_sync_to_async(Survey)()
    await events.apublish({"type": "automation.message", "automation": survey.id, "message": "answer"})
    for _ in range(500):
        if await database_sync_to_async(lambda: "settle" in testing.path(survey))():
            break
        await asyncio.sleep(0.01)
    await database_sync_to_async(testing.assert_at)(survey, "settle")


def test_the_plugin_is_registered_by_its_entry_point():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points.pytest11]\nautomations = "automations.testing.pytest_plugin"' in text


@testing.frozen_clock(START)
class DecoratedTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.ada = User.objects.create_user("ada")

    def setUp(self):
        self.approval = Approval()  # set up at the frozen time

    def test_the_time_is_frozen_from_set_up_on(self):
        self.assertEqual(timezone.now(), START)
        task = testing.open_tasks(self.ada)[0]
        self.assertEqual(task.created, START)
        timezone.now.advance(days=1)

    async def test_and_in_async_tests(self):
        self.assertEqual(timezone.now(), START)  # each test starts again at the start


class DecoratedTestMethod(TestCase):
    @testing.frozen_clock(START)
    def test_the_method_is_frozen(self):
        self.assertEqual(timezone.now(), START)

    def test_the_others_are_not(self):
        self.assertGreater(abs(timezone.now() - START), timedelta(days=1))


def test_submit_refuses_a_user_who_is_not_logged_in(ada):
    from django.contrib.auth.models import AnonymousUser

    approval = Approval()
    with pytest.raises(AssertionError, match=r"sent AnonymousUser to /accounts/login/.* without taking"):
        testing.submit(approval, {"amount": 200}, user=AnonymousUser())
    testing.assert_at(approval, "approve")


class MixinTests(testing.AutomationTestMixin, TestCase):
    def test_the_clock_is_frozen_and_the_helpers_are_assertions(self):
        self.assertEqual(timezone.now(), datetime(2030, 1, 7, 9, 0, tzinfo=UTC))
        survey = Survey()
        self.assertAt(survey, "survey")
        testing.send(survey, "answer")
        self.clock.advance(days=1)
        self.assertTrue(survey.finished())
        ada = User.objects.create_user("ada")
        approval = Approval()
        self.submit(approval, {"amount": 1}, user=ada)
        self.assertTrue(approval.finished())


def test_the_plugin_loads_before_django_is_set_up():
    import subprocess
    import sys

    code = "import sys, automations.testing.pytest_plugin; assert 'automations.models' not in sys.modules"
    env = {"PATH": "", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


async def test_the_frozen_clock_fires_its_timers_in_time_order_as_it_passes_them():
    fired = []
    with testing.frozen_clock() as clock:
        start = clock.now
        clock.call_later(2, lambda: fired.append(("late", clock.now - start)))
        clock.call_later(1, lambda: fired.append(("early", clock.now - start)))
        clock.call_later(1.5, lambda: fired.append(("cancelled", None))).cancel()
        await clock.aadvance(seconds=0.5)
        assert fired == []
        await clock.aadvance(seconds=2)
        assert fired == [("early", timedelta(seconds=1)), ("late", timedelta(seconds=2))]
        assert clock.now - start == timedelta(seconds=2.5)
        clock.call_later(0, lambda: fired.append(("now", clock.now - start)))
        await asyncio.sleep(0)
        assert fired[-1] == ("now", timedelta(seconds=2.5))
        with pytest.raises(ValueError):
            await clock.aadvance(seconds=-1)


def test_restored_registry_forgets_classes_declared_inside_and_brings_back_those_removed_inside():
    from automations import registry

    before = registry.all_automations()
    removed_path = next(iter(before))
    with testing.restored_registry():

        class Passing(flow.Automation):
            start = flow.End()

        registry.unregister(removed_path)
        assert registry.class_path(Passing) in registry.all_automations()
    assert registry.all_automations() == before and list(registry.all_automations()) == list(before)
