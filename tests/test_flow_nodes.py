"""Node modifiers (values or callables taking the task) and the nodes If, Execute and End."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from automations import flow
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel
from tests.helpers import open_statuses, row, statuses, tasks

pytestmark = pytest.mark.django_db


def sweep():
    return AutomationModel.run()


@pytest.mark.parametrize(
    "modifier, argument",
    [
        ("Next", "x"),
        ("AsSoonAs", True),
        ("AfterWaitingUntil", datetime(2030, 1, 1)),
        ("AfterWaitingFor", timedelta(1)),
        ("AfterPausingFor", timedelta(1)),
        ("SkipIf", False),
        ("SkipAfter", timedelta(1)),
    ],
)
def test_modifiers_return_the_node(modifier, argument):
    node = flow.Execute(this.work)
    assert getattr(node, modifier)(argument) is node


def test_node_specific_modifiers_return_the_node():
    execute, if_, split, repeat = flow.Execute(this.x), flow.If(True), flow.Split(), flow.Repeat()
    assert execute.OnError("y") is execute
    assert if_.Then("y") is if_ and if_.Else("z") is if_
    assert split.Next("a") is split
    assert repeat.At(7, 0) is repeat and repeat.EveryHour() is repeat and repeat.EveryDay() is repeat
    assert repeat.EveryNMinutes(5) is repeat and repeat.EveryNDays(2) is repeat


# -- SkipIf -------------------------------------------------------------------------------------


class Skippable(flow.Automation):
    maybe = flow.Execute(this.work).SkipIf(this.should_skip)
    by_value = flow.Execute(this.work).SkipIf(False)
    end = flow.End()

    def should_skip(self, task):
        self.data.setdefault("condition_saw", []).append(type(task).__name__)
        return self.data.get("skip")

    def work(self, task):
        self.data.setdefault("worked", []).append(task.status)


def test_skip_if_a_callable_taking_the_task_is_truthy():
    automation = Skippable(skip=1)
    assert automation.data["worked"] == ["by_value"]
    assert automation.data["condition_saw"] == ["AutomationTaskModel"]
    first = tasks(automation)[0]
    assert (first.status, first.message) == ("maybe", "skipped")


def test_no_skip_if_the_condition_is_falsy():
    automation = Skippable(skip=0)
    assert automation.data["worked"] == ["maybe", "by_value"]
    assert [t.message for t in tasks(automation)] == ["OK", "OK", "OK"]


def test_skip_if_a_value_is_truthy():
    class AlwaysSkip(flow.Automation):
        start = flow.Execute(this.work).SkipIf("yes")
        end = flow.End()

        def work(self, task):
            raise AssertionError("skipped nodes do not run")

    assert [t.message for t in tasks(AlwaysSkip())] == ["skipped", "OK"]


# -- waiting --------------------------------------------------------------------------------------


class WaitsFor(flow.Automation):
    start = flow.Execute(this.work)
    later = flow.Execute(this.work).AfterWaitingFor(timedelta(hours=2))
    end = flow.End()

    def work(self, task):
        self.data.setdefault("worked", []).append(task.status)


def test_after_waiting_for_a_timedelta(clock):
    start = clock.now
    automation = WaitsFor()
    assert automation.data["worked"] == ["start"]
    assert open_statuses(automation) == ["later"]
    assert row(automation).wake_at == start + timedelta(hours=2)
    clock.advance(hours=1, minutes=59)
    assert row(automation).data["worked"] == ["start"]
    clock.advance(minutes=1)
    assert row(automation).data["worked"] == ["start", "later"]
    assert automation.finished()


def test_after_waiting_for_counts_from_when_the_node_was_reached(clock):
    class Chain(flow.Automation):
        first = flow.Execute(this.work).AfterWaitingFor(timedelta(hours=1))
        second = flow.Execute(this.work).AfterWaitingFor(timedelta(hours=1))
        end = flow.End()

        def work(self, task):
            self.data.setdefault("at", []).append(timezone.now().isoformat())

    automation = Chain()
    clock.jump(hours=3)  # the scheduler comes late
    sweep()
    assert row(automation).data["at"] == ["2030-01-07T12:00:00+00:00"]
    assert row(automation).wake_at == clock.now + timedelta(hours=1)


def test_after_waiting_for_and_until_take_callables_with_the_task(clock):
    class Callables(flow.Automation):
        start = flow.Execute(this.work).AfterWaitingFor(this.pause).AfterWaitingUntil(this.not_before)
        end = flow.End()

        def pause(self, task):
            assert isinstance(task, AutomationTaskModel)
            return timedelta(minutes=self.data["minutes"])

        def not_before(self, task):
            return task.created + timedelta(minutes=5)

        def work(self, task):
            self.data["done"] = True

    automation = Callables(minutes=30)
    assert row(automation).wake_at == clock.now + timedelta(minutes=30)
    clock.advance(minutes=30)
    assert row(automation).data["done"] is True


def test_after_waiting_until_a_naive_datetime_means_the_current_time_zone(clock):
    class Until(flow.Automation):
        start = flow.Execute(this.work).AfterWaitingUntil(datetime(2030, 1, 7, 12, 0))
        end = flow.End()

        def work(self, task):
            self.data["done"] = True

    with timezone.override("Europe/Berlin"):
        automation = Until()
    assert row(automation).wake_at == datetime(2030, 1, 7, 11, 0, tzinfo=UTC)


class Conditional(flow.Automation):
    wait = flow.Execute(this.work).AsSoonAs(this.ready)
    end = flow.End()

    def ready(self, task):
        self.data["checks"] = self.data.get("checks", 0) + 1
        return self.data.get("ready", False)

    def work(self, task):
        self.data["worked"] = True

    def receive_go(self, token, data):
        self.data["ready"] = True


def test_as_soon_as_waits_until_the_condition_holds(clock):
    automation = Conditional()
    assert "worked" not in automation.data
    assert open_statuses(automation) == ["wait"]
    automation.send_message("go")
    assert row(automation).data["worked"] is True
    assert automation.finished()


@override_settings(ATM_CONDITION_RECHECK_INTERVAL=600)
def test_as_soon_as_is_rechecked_at_the_configured_interval(clock):
    automation = Conditional()
    assert row(automation).wake_at == clock.now + timedelta(minutes=10)
    clock.advance(minutes=9)
    assert row(automation).data["checks"] == 1
    clock.advance(minutes=1)
    assert row(automation).data["checks"] == 2


def test_as_soon_as_takes_a_value():
    class Never(flow.Automation):
        wait = flow.Execute(this.work).AsSoonAs(False)
        end = flow.End()

        def work(self, task):
            raise AssertionError("never")

    class Always(Never):
        wait = flow.Execute(this.noop).AsSoonAs(1)

        def noop(self, task):
            return "ran"

    assert open_statuses(Never()) == ["wait"]
    assert Always().finished()


# -- precedence: skipping beats waiting --------------------------------------------------------


def test_skip_if_beats_as_soon_as_and_waiting():
    class SkipFirst(flow.Automation):
        a = flow.Execute(this.work).AsSoonAs(False).SkipIf(True)
        b = flow.Execute(this.work).AfterWaitingFor(timedelta(days=3)).SkipIf(this.yes)
        end = flow.End()

        def yes(self, task):
            return True

        def work(self, task):
            raise AssertionError("skipped")

    automation = SkipFirst()
    assert automation.finished()
    assert [t.message for t in tasks(automation)] == ["skipped", "skipped", "OK"]


def test_skip_after_ends_a_wait_that_lasts_too_long(clock):
    class Deadline(flow.Automation):
        wait = flow.Execute(this.work).AsSoonAs(False).SkipAfter(timedelta(minutes=30))
        late = flow.Execute(this.work).AfterWaitingFor(timedelta(hours=2)).SkipAfter(this.half_hour)
        end = flow.End()

        def half_hour(self, task):
            return timedelta(minutes=30)

        def work(self, task):
            raise AssertionError("skipped")

    automation = Deadline()
    assert row(automation).wake_at == clock.now + timedelta(minutes=1)  # the condition's re-check
    clock.advance(minutes=29)
    assert open_statuses(automation) == ["wait"]
    assert row(automation).wake_at == clock.now + timedelta(minutes=1)
    clock.advance(minutes=1)
    assert open_statuses(automation) == ["late"]
    assert row(automation).wake_at == clock.now + timedelta(minutes=30)  # the deadline, not 2 hours
    clock.advance(minutes=30)
    assert automation.finished()
    assert [t.message for t in tasks(automation)] == ["skipped", "skipped", "OK"]


def test_skip_after_does_not_skip_a_node_that_is_ready_in_time(clock):
    class InTime(flow.Automation):
        start = flow.Execute(this.work).AfterWaitingFor(timedelta(minutes=10)).SkipAfter(timedelta(hours=1))
        end = flow.End()

        def work(self, task):
            self.data["worked"] = True

    automation = InTime()
    clock.advance(minutes=10)
    assert row(automation).data == {"worked": True}


# -- If -----------------------------------------------------------------------------------------


class Branching(flow.Automation):
    check = flow.If(this.is_vip).Then(this.vip).Else("self.standard")
    vip = flow.Execute(this.mark).Next(this.end)
    standard = flow.Execute(this.mark)
    end = flow.End()

    def is_vip(self, task):
        return self.data["vip"]

    def mark(self, task):
        self.data["path"] = task.status


@pytest.mark.parametrize("vip, path", [(True, "vip"), (False, "standard")])
def test_if_then_else_continue_at_nodes(vip, path):
    automation = Branching(vip=vip)
    assert automation.data["path"] == path
    assert statuses(automation) == ["check", path, "end"]


def test_if_without_else_continues_with_the_next_node():
    class NoElse(flow.Automation):
        check = flow.If(False).Then(this.end)
        next_one = flow.Execute(this.mark)
        end = flow.End()

        def mark(self, task):
            self.data["marked"] = True

    assert NoElse().data == {"marked": True}


def test_then_and_else_run_callables_and_continue_with_the_next_node():
    class Callables(flow.Automation):
        check = flow.If(this.flag).Then(this.on_true).Else(lambda task: task.automation.data.update(e=1))
        after = flow.Execute(this.mark)
        end = flow.End()

        def flag(self, task):
            return self.data["flag"]

        def on_true(self, task):
            self.data["then"] = True
            return "then-result"

        def mark(self, task):
            self.data["after"] = True

    yes = Callables(flag=True)
    assert yes.data == {"flag": True, "then": True, "after": True}
    assert tasks(yes)[0].result == "then-result"
    assert Callables(flag=False).data == {"flag": False, "e": 1, "after": True}


def test_if_condition_may_be_a_value_or_a_lambda_taking_the_task():
    class Lambdas(flow.Automation):
        check = flow.If(lambda task: task.data["n"] > 1).Then(this.big)
        small = flow.Execute(this.mark).Next(this.end)
        big = flow.Execute(this.mark)
        end = flow.End()

        def mark(self, task):
            self.data["seen"] = task.status

    assert Lambdas(n=2).data["seen"] == "big"
    assert Lambdas(n=1).data["seen"] == "small"


# -- Execute ------------------------------------------------------------------------------------


def record_call(task, *args, **kwargs):
    task.automation.data["call"] = {"args": list(args), "kwargs": kwargs}
    return {"stored": True}


class Calls(flow.Automation):
    plain = flow.Execute(record_call, False, 1, "two", key="value")
    method = flow.Execute(this.method_call, False, 3, description="a method")
    end = flow.End()

    def method_call(self, task, number):
        self.data["method"] = number


def test_execute_passes_the_task_and_arguments_and_stores_the_result():
    automation = Calls()
    assert automation.data["call"] == {"args": [1, "two"], "kwargs": {"key": "value"}}
    assert automation.data["method"] == 3
    first, second, _ = tasks(automation)
    assert (first.message, first.result) == ("OK", {"stored": True})
    assert second.result is None


class SendEMail(flow.Execute):
    def method(self, task_instance, template, *, to):
        task_instance.automation.data.setdefault("mails", []).append(f"{template}->{to}")
        return template


def test_execute_subclasses_implement_method():
    class Mailing(flow.Automation):
        welcome = SendEMail("welcome.txt", to="ada@example.com")
        reminder = SendEMail("reminder.txt", to="bob@example.com")
        end = flow.End()

    automation = Mailing()
    assert automation.data["mails"] == ["welcome.txt->ada@example.com", "reminder.txt->bob@example.com"]
    assert [t.result for t in tasks(automation)] == ["welcome.txt", "reminder.txt", None]


def test_the_second_positional_argument_of_execute_is_threaded():
    class Sums(flow.Automation):
        total = flow.Execute(this.add, False, 2, 3, factor=10)
        later = flow.Execute(this.add, True, 1, 1, factor=1)
        end = flow.End()

        def add(self, task, a, b, factor):
            self.data.setdefault("sums", []).append((a + b) * factor)

    assert Sums.total.threaded is False and Sums.later.threaded is True
    assert Sums.total._args == (2, 3) and Sums.total._kwargs == {"factor": 10}
    automation = Sums()  # no worker: threaded nodes run in place
    assert automation.data["sums"] == [50, 2]
    assert flow.Execute(this.add, threaded=True).threaded is True
    assert flow.Execute(this.add).threaded is False


@pytest.mark.parametrize("threaded", [2, "email", None, 0, 1.0])
def test_a_threaded_that_is_not_a_bool_is_a_declaration_error_saying_how_to_pass_arguments(threaded):
    with pytest.raises(flow.AutomationDeclarationError) as error:

        class Wrong(flow.Automation):
            start = flow.Execute(this.add, threaded, 3)

            def add(self, task, *numbers):
                pass

    message = str(error.value)
    assert f"threaded must be True or False, not {threaded!r}" in message
    assert f"Execute(func, False, {threaded!r}, ...)" in message and "keyword arguments" in message


def test_threaded_given_twice_is_a_declaration_error():
    with pytest.raises(flow.AutomationDeclarationError, match="threaded twice"):
        flow.Execute(this.add, False, threaded=True)


def test_execute_without_a_callable_is_a_node_that_does_nothing():
    class Placeholder(flow.Automation):
        start = flow.Execute()
        later = flow.Execute(description="to be written")
        end = flow.End()

    automation = Placeholder()
    assert automation.finished()
    assert [(t.status, t.message, t.result) for t in tasks(automation)] == [
        ("start", "OK", None),
        ("later", "OK", None),
        ("end", "OK", None),
    ]


def test_threaded_execute_runs_in_place_without_a_worker():
    class Threaded(flow.Automation):
        heavy = flow.Execute(this.compute, threaded=True)
        end = flow.End()

        def compute(self, task):
            self.data["computed"] = 42

    assert Threaded.heavy.threaded is True
    automation = Threaded()
    assert automation.data == {"computed": 42}
    assert automation.finished()


def test_threaded_execute_is_handed_to_the_worker_when_one_runs(clock):
    from automations import engine

    class Threaded(flow.Automation):
        heavy = flow.Execute(this.compute, threaded=True)
        end = flow.End()

        def compute(self, task):
            self.data["computed"] = 42

    automation = Threaded(autorun=False)
    result = engine.advance(automation, run_threaded=False)
    assert result.stopped_at == ["heavy"] and result.wake_at == clock.now
    assert row(automation).data == {}
    sweep()  # what the worker does
    assert row(automation).data == {"computed": 42}


def test_on_error_continues_at_the_named_node():
    class Fragile(flow.Automation):
        risky = flow.Execute(this.fail).OnError(this.recover)
        normal = flow.Execute(this.mark).Next(this.end)
        recover = flow.Execute(this.mark)
        end = flow.End()

        def fail(self, task):
            raise ValueError("bad input")

        def mark(self, task):
            self.data["path"] = task.status

    automation = Fragile()
    assert automation.data == {"path": "recover"}
    assert automation.finished()
    failed = tasks(automation)[0]
    assert failed.message == "ValueError('bad input')"
    assert row(automation).error == ""


# -- End ------------------------------------------------------------------------------------------


def test_end_finishes_and_nothing_after_it_runs():
    class Early(flow.Automation):
        start = flow.Execute(this.mark)
        stop = flow.End()
        after = flow.Execute(this.mark)

        def mark(self, task):
            self.data.setdefault("seen", []).append(task.status)

    automation = Early()
    assert automation.finished()
    assert automation.data == {"seen": ["start"]}
    assert statuses(automation) == ["start", "stop"]
    assert row(automation).wake_at is None


def test_a_path_running_past_the_last_node_finishes_the_instance():
    class NoEnd(flow.Automation):
        only = flow.Execute(this.mark)

        def mark(self, task):
            self.data["marked"] = True

    automation = NoEnd()
    assert automation.finished()
    assert statuses(automation) == ["only"]


def test_plain_strings_name_attributes_of_the_automation_when_they_exist():
    class Strings(flow.Automation):
        start = flow.Execute("work").SkipIf("is_off")
        other = flow.Execute("self.work").SkipIf("a plain value")  # no such attribute: a truthy value
        end = flow.End()

        def is_off(self, task):
            return False

        def work(self, task):
            self.data.setdefault("worked", []).append(task.status)

    automation = Strings()
    assert automation.data == {"worked": ["start"]}
    assert [t.message for t in tasks(automation)] == ["OK", "skipped", "OK"]


def test_send_message_tokens_and_data_are_values_unless_references_or_callables():
    from tests.testapp.automations import Inbox

    class Notifier(flow.Automation):
        end = flow.SendMessage(this.inbox, "note", token="end", data="end")

        def inbox(self, task):
            return self.data["inbox"]

    inbox = Inbox(needed=5)
    Notifier(inbox=inbox.id)
    assert row(inbox).data["notes"] == [{"token": "end", "data": "end"}]
