"""Split and Join: parallel paths, nested splits, paths that wait on timers."""

from datetime import timedelta

import pytest

from automations import flow
from automations.flow import this
from tests.helpers import open_statuses, row, statuses, tasks

pytestmark = pytest.mark.django_db


class Recorder(flow.Automation):
    """Base with the method every node of these tests runs."""

    class Meta:
        abstract = True

    def mark(self, task):
        self.data.setdefault("seen", []).append(task.status)


def seen(automation):
    return row(automation).data.get("seen", [])


class FanOut(Recorder):
    fan = flow.Split().Next(this.sales).Next(this.support).Next(this.billing)
    sales = flow.Execute(this.mark).Next(this.meet)
    support = flow.Execute(this.mark).Next(this.meet)
    billing = flow.Execute(this.mark)
    meet = flow.Join()
    after = flow.Execute(this.mark)
    end = flow.End()


def test_every_path_runs_and_the_join_continues_once():
    automation = FanOut()
    assert automation.finished()
    assert sorted(seen(automation)[:3]) == ["billing", "sales", "support"]
    assert seen(automation)[3:] == ["after"]
    assert statuses(automation).count("after") == 1
    assert statuses(automation).count("meet") == 3


def test_paths_inside_a_split_are_recorded_on_their_tasks():
    automation = FanOut()
    by_node = {t.status: t for t in tasks(automation)}
    split_task = by_node["fan"]
    assert by_node["sales"].path == f"{split_task.pk}@meet"
    assert by_node["after"].path == ""


class WaitsInOnePath(Recorder):
    fan = flow.Split().Next(this.quick).Next(this.slow)
    quick = flow.Execute(this.mark).Next(this.meet)
    slow = flow.Execute(this.mark).AfterWaitingFor(timedelta(hours=1))
    meet = flow.Join()
    after = flow.Execute(this.mark)
    end = flow.End()


def test_the_join_waits_for_a_path_that_waits_on_a_timer(clock):
    automation = WaitsInOnePath()
    assert seen(automation) == ["quick"]
    assert sorted(open_statuses(automation)) == ["meet", "slow"]
    assert row(automation).wake_at == clock.now + timedelta(hours=1)
    clock.advance(minutes=59)
    assert seen(automation) == ["quick"]
    clock.advance(minutes=1)
    assert seen(automation) == ["quick", "slow", "after"]
    assert automation.finished()
    assert [t.message for t in tasks(automation) if t.status == "meet"] == ["OK", "OK"]


class TwoTimers(Recorder):
    fan = flow.Split().Next(this.one).Next(this.two)
    one = flow.Execute(this.mark).AfterWaitingFor(timedelta(minutes=10)).Next(this.meet)
    two = flow.Execute(this.mark).AfterWaitingFor(timedelta(minutes=30))
    meet = flow.Join()
    after = flow.Execute(this.mark)


def test_the_instance_wakes_for_the_earliest_timer_and_the_join_for_the_last(clock):
    automation = TwoTimers()
    assert row(automation).wake_at == clock.now + timedelta(minutes=10)
    clock.advance(minutes=10)
    assert seen(automation) == ["one"]
    assert row(automation).wake_at == clock.now + timedelta(minutes=20)
    clock.advance(minutes=20)
    assert seen(automation) == ["one", "two", "after"]
    assert automation.finished()


class Nested(Recorder):
    outer = flow.Split().Next(this.inner).Next(this.right)
    inner = flow.Split().Next(this.left_a).Next(this.left_b)
    left_a = flow.Execute(this.mark).Next(this.inner_join)
    left_b = flow.Execute(this.mark).AfterWaitingFor(timedelta(minutes=5))
    inner_join = flow.Join()
    after_inner = flow.Execute(this.mark).Next(this.outer_join)
    right = flow.Execute(this.mark).AfterWaitingFor(timedelta(minutes=20))
    outer_join = flow.Join()
    after = flow.Execute(this.mark)
    end = flow.End()


def test_nested_splits_join_inside_out(clock):
    automation = Nested()
    assert seen(automation) == ["left_a"]
    clock.advance(minutes=5)
    assert seen(automation) == ["left_a", "left_b", "after_inner"]
    assert not automation.finished()
    clock.advance(minutes=15)
    assert seen(automation) == ["left_a", "left_b", "after_inner", "right", "after"]
    assert automation.finished()


class SharedJoin(Recorder):
    outer = flow.Split().Next(this.inner).Next(this.right)
    inner = flow.Split().Next(this.left_a).Next(this.left_b)
    left_a = flow.Execute(this.mark).Next(this.meet)
    left_b = flow.Execute(this.mark).Next(this.meet)
    right = flow.Execute(this.mark).AfterWaitingFor(timedelta(minutes=20))
    meet = flow.Join()
    after = flow.Execute(this.mark)
    end = flow.End()


def test_nested_splits_may_meet_at_the_same_join(clock):
    assert SharedJoin.inner.matching_join == "meet"
    assert SharedJoin.outer.matching_join == "meet"
    automation = SharedJoin()
    assert sorted(seen(automation)) == ["left_a", "left_b"]
    assert "after" not in seen(automation)
    clock.advance(minutes=20)
    assert seen(automation)[2:] == ["right", "after"]
    assert statuses(automation).count("after") == 1
    assert automation.finished()


class OnePathEnds(Recorder):
    fan = flow.Split().Next(this.a).Next(this.b)
    a = flow.Execute(this.mark).AfterWaitingFor(timedelta(minutes=5)).Next(this.meet)
    b = flow.If(this.go_to_join).Then(this.meet).Else(this.tail)
    meet = flow.Join()
    after = flow.Execute(this.mark).Next(this.end)
    end = flow.End()
    tail = flow.Execute(this.mark)  # the last node: a path continuing here ends afterwards

    def go_to_join(self, task):
        return False


def test_a_path_that_ends_inside_a_split_is_not_waited_for(clock):
    automation = OnePathEnds()
    assert seen(automation) == ["tail"]
    clock.advance(minutes=5)
    assert seen(automation) == ["tail", "a", "after"]
    assert automation.finished()


class EndInOnePath(Recorder):
    fan = flow.Split().Next(this.waiting).Next(this.stop)
    waiting = flow.Execute(this.mark).AfterWaitingFor(timedelta(hours=1)).Next(this.meet)
    stop = flow.If(True).Then(this.end).Else(this.meet)
    meet = flow.Join()
    end = flow.End()


def test_end_in_one_path_finishes_the_instance_and_closes_the_other_paths():
    automation = EndInOnePath()
    assert automation.finished()
    waiting = [t for t in tasks(automation) if t.status == "waiting"]
    assert [(t.message, t.finished is not None) for t in waiting] == [("ended", True)]
    assert row(automation).wake_at is None


def test_a_join_outside_any_split_lets_the_path_pass():
    class Lonely(Recorder):
        start = flow.Execute(this.mark)
        meet = flow.Join()
        after = flow.Execute(this.mark)

    automation = Lonely()
    assert seen(automation) == ["start", "after"]
    assert automation.finished()


def test_split_paths_waiting_for_messages(clock):
    class Approvals(Recorder):
        fan = flow.Split().Next(this.legal).Next(this.finance)
        legal = flow.Execute(this.mark).AsSoonAs(this.approved_by_legal).Next(this.meet)
        finance = flow.Execute(this.mark).AsSoonAs(this.approved_by_finance)
        meet = flow.Join()
        done = flow.Execute(this.mark)

        def approved_by_legal(self, task):
            return "legal" in self.data.get("approvals", [])

        def approved_by_finance(self, task):
            return "finance" in self.data.get("approvals", [])

        def receive_approve(self, token, data):
            self.data.setdefault("approvals", []).append(token)

    automation = Approvals()
    automation.send_message("approve", "finance")
    assert seen(automation) == ["finance"]
    automation.send_message("approve", "legal")
    assert seen(automation) == ["finance", "legal", "done"]
    assert automation.finished()
