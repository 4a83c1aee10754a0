"""Repeat: recurring automations on a schedule, time-zone aware, without drift."""

from datetime import UTC, datetime

import pytest
from django.test import override_settings

from automations import flow
from automations.flow import this
from automations.models import AutomationModel
from tests.helpers import row, tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("berlin")]


@pytest.fixture
def berlin():
    with override_settings(TIME_ZONE="Europe/Berlin"):
        yield


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def sweep():
    AutomationModel.run()


def runs(automation):
    return row(automation).data.get("runs", 0)


def scheduled(automation):
    """Return the next run stored on the instance's open Repeat task, as an aware datetime."""
    (task,) = [t for t in tasks(automation) if t.finished is None]
    return datetime.fromisoformat(task.result["next"])


def count(self, task):
    self.data["runs"] = self.data.get("runs", 0) + 1


def make(schedule):
    """Declare a new recurring automation (each under its own name: the registry is keyed by path)."""
    make.serial = getattr(make, "serial", 0) + 1
    attributes = {"__module__": __name__, "count": count}
    attributes.update(work=flow.Execute(this.count), again=schedule(flow.Repeat()))
    return type(f"Recurring{make.serial}", (flow.Automation,), attributes)


def test_every_n_minutes_stores_the_next_run_and_does_not_drift(clock):
    automation = make(lambda r: r.EveryNMinutes(15))()
    assert runs(automation) == 1
    assert scheduled(automation) == utc(2030, 1, 7, 9, 15)
    assert row(automation).wake_at == utc(2030, 1, 7, 9, 15)
    clock.advance(minutes=14)
    assert runs(automation) == 1
    clock.advance(minutes=1)
    assert runs(automation) == 2
    assert scheduled(automation) == utc(2030, 1, 7, 9, 30)
    clock.jump(minutes=22)  # the scheduler runs late, at 9:37
    sweep()
    assert runs(automation) == 3
    assert scheduled(automation) == utc(2030, 1, 7, 9, 45)  # still on the 9:00 grid


def test_missed_runs_are_not_made_up(clock):
    automation = make(lambda r: r.EveryNMinutes(15))()
    clock.jump(hours=1, minutes=31)  # 10:31: the runs at 9:15 ... 10:30 were missed
    sweep()
    sweep()
    assert runs(automation) == 2
    assert scheduled(automation) == utc(2030, 1, 7, 10, 45)


def test_every_hour(clock):
    automation = make(lambda r: r.EveryHour())()
    assert scheduled(automation) == utc(2030, 1, 7, 10, 0)
    two_hourly = make(lambda r: r.EveryHour(2))()
    assert scheduled(two_hourly) == utc(2030, 1, 7, 11, 0)
    clock.jump(hours=2, minutes=5)  # one late sweep, at 11:05
    sweep()
    assert (runs(automation), runs(two_hourly)) == (2, 2)
    assert scheduled(automation) == utc(2030, 1, 7, 12, 0)
    assert scheduled(two_hourly) == utc(2030, 1, 7, 13, 0)


def test_every_n_days_keeps_the_local_time_of_day(clock):
    automation = make(lambda r: r.EveryNDays(2))()
    assert scheduled(automation) == utc(2030, 1, 9, 9, 0)
    clock.advance(days=2, hours=3)
    assert runs(automation) == 2
    assert scheduled(automation) == utc(2030, 1, 11, 9, 0)


def test_every_day_follows_the_wall_clock_over_the_spring_dst_change(clock):
    clock.jump_to(utc(2030, 3, 30, 8, 0))  # 09:00 CET, the day before summer time starts
    automation = make(lambda r: r.EveryDay())()
    assert scheduled(automation) == utc(2030, 3, 31, 7, 0)  # 09:00 CEST: 23 hours later
    clock.advance_to(utc(2030, 3, 31, 7, 0))
    assert runs(automation) == 2
    assert scheduled(automation) == utc(2030, 4, 1, 7, 0)


def test_every_day_follows_the_wall_clock_over_the_autumn_dst_change(clock):
    clock.jump_to(utc(2030, 10, 26, 7, 0))  # 09:00 CEST
    automation = make(lambda r: r.EveryDay())()
    assert scheduled(automation) == utc(2030, 10, 27, 8, 0)  # 09:00 CET: 25 hours later


def test_every_n_minutes_counts_real_time_over_a_dst_change(clock):
    clock.jump_to(utc(2030, 3, 31, 0, 30))  # 01:30 CET; at 02:00 the clocks jump to 03:00
    automation = make(lambda r: r.EveryNMinutes(45))()
    assert scheduled(automation) == utc(2030, 3, 31, 1, 15)  # 03:15 CEST, 45 real minutes later


def test_at_runs_at_the_given_local_time(clock):
    later_today = make(lambda r: r.At(11, 0))()  # it is 10:00 in Berlin
    assert scheduled(later_today) == utc(2030, 1, 7, 10, 0)
    tomorrow = make(lambda r: r.At(7, 30))()
    assert scheduled(tomorrow) == utc(2030, 1, 8, 6, 30)
    clock.advance_to(utc(2030, 1, 8, 6, 30))
    assert runs(tomorrow) == 2
    assert scheduled(tomorrow) == utc(2030, 1, 9, 6, 30)


def test_at_over_the_dst_change(clock):
    clock.jump_to(utc(2030, 3, 30, 8, 0))
    automation = make(lambda r: r.At(7, 30))()
    assert scheduled(automation) == utc(2030, 3, 31, 5, 30)  # 07:30 CEST


def test_at_uses_the_current_time_zone(clock):
    with override_settings(TIME_ZONE="America/New_York"):
        automation = make(lambda r: r.At(7, 30))()  # it is 04:00 in New York
    assert scheduled(automation) == utc(2030, 1, 7, 12, 30)


def test_repeat_resumes_at_its_start_node(clock):
    class FromSecond(flow.Automation):
        setup = flow.Execute(this.count, False, "setup")
        work = flow.Execute(this.count, False, "work")
        again = flow.Repeat(this.work).EveryNMinutes(10)

        def count(self, task, key):
            self.data[key] = self.data.get(key, 0) + 1

    automation = FromSecond()
    clock.advance(minutes=10)
    clock.advance(minutes=10)
    assert row(automation).data == {"setup": 1, "work": 3}
    assert not automation.finished()


def test_the_schedule_is_kept_on_the_task_rows(clock):
    automation = make(lambda r: r.EveryNMinutes(30))()
    clock.advance(minutes=30)
    repeat_tasks = [t for t in tasks(automation) if t.status == "again"]
    assert [t.result for t in repeat_tasks] == [
        {"anchor": "2030-01-07T09:00:00+00:00", "next": "2030-01-07T09:30:00+00:00"},
        {"anchor": "2030-01-07T09:00:00+00:00", "next": "2030-01-07T10:00:00+00:00"},
    ]


@pytest.mark.parametrize("schedule", [lambda r: r.EveryNMinutes(0), lambda r: r.EveryHour(-1)])
def test_a_schedule_must_move_forward(schedule):
    with pytest.raises(ValueError, match="must be positive"):
        schedule(flow.Repeat())
