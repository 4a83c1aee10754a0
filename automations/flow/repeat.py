"""``Repeat``: the node that makes an automation recurring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, Self

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from automations.outcomes import Outcome, Proceed, Visit, Wait

from .nodes import Node
from .references import NodeName, reference_name


class Repeat(Node):
    """Wait for the next scheduled time, then continue at ``start`` (default: the first node).

    The schedule is one of ``.At(hour, minute)``, ``.EveryHour(hours=1)``, ``.EveryNMinutes(minutes)``,
    ``.EveryNDays(days)`` and ``.EveryDay()`` (the default). Intervals count from the first time
    the node was reached, so runs do not drift; day intervals and ``At`` follow the wall clock of
    the current time zone. The next run time is stored on the node's open task::

        report = flow.Execute(this.send_report)
        again = flow.Repeat(this.report).At(7, 30)
    """

    def __init__(self, start: NodeName | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._start = start
        self._at: tuple[int, int] | None = None
        self._interval: timedelta | None = None
        self._days: int = 1

    def At(self, hour: int, minute: int) -> Self:  # noqa: N802
        """Run every day at ``hour``:``minute`` local time."""
        self._at, self._interval = (hour, minute), None
        return self

    def EveryHour(self, hours: int = 1) -> Self:  # noqa: N802
        """Run every ``hours`` hours."""
        return self._every(timedelta(hours=hours))

    def EveryNMinutes(self, minutes: int) -> Self:  # noqa: N802
        """Run every ``minutes`` minutes."""
        return self._every(timedelta(minutes=minutes))

    def EveryNDays(self, days: int) -> Self:  # noqa: N802
        """Run every ``days`` days at the time of day the node was first reached."""
        self._at, self._interval, self._days = None, None, days
        return self

    def EveryDay(self) -> Self:  # noqa: N802
        """Run once a day at the time of day the node was first reached."""
        return self.EveryNDays(1)

    def _every(self, interval: timedelta) -> Self:
        if interval <= timedelta(0):
            raise ValueError(f"Repeat interval must be positive, got {interval}.")
        self._at, self._interval = None, interval
        return self

    def start_name(self) -> str:
        """Return the name of the node the automation resumes at."""
        if self._start is not None:
            return reference_name(self._start)
        return self._declaring_class()._node_names[0]

    def references(self) -> Iterator[tuple[str, NodeName]]:
        if self._start is not None:
            yield "Repeat(start)", self._start

    def successors(self) -> list[str]:
        return [self.start_name()]

    def runs_code(self) -> bool:
        return self._has_modifiers()

    def next_run(self, anchor: datetime, now: datetime) -> datetime:
        """Return the first scheduled moment after ``now`` for a schedule anchored at ``anchor``."""
        if self._at is not None:
            local_now = timezone.localtime(now)
            moment = _local(local_now.date(), time(*self._at))
            return moment if moment > now else _local(local_now.date() + timedelta(days=1), time(*self._at))
        if self._interval is not None:
            periods = (now - anchor) // self._interval + 1
            return anchor + periods * self._interval
        local_anchor = timezone.localtime(anchor)
        periods = max((timezone.localtime(now).date() - local_anchor.date()).days // self._days, 0)
        while True:
            moment = _local(local_anchor.date() + timedelta(days=periods * self._days), local_anchor.timetz())
            if moment > now:
                return moment
            periods += 1

    def enter(self, visit: Visit) -> Outcome:
        scheduled = visit.task.result if isinstance(visit.task.result, dict) else {}
        if "next" in scheduled:
            due = _moment(scheduled["next"])
            if due is not None and visit.now >= due:
                return Proceed(targets=(self.start_name(),), result=scheduled)
            if due is not None:
                return Wait(until=due)
        previous = visit.previous_result(self._name) if self._name is not None else None
        anchor = (_moment(previous["anchor"]) if previous and "anchor" in previous else None) or visit.now
        due = self.next_run(anchor, visit.now)
        return Wait(until=due, result={"anchor": anchor.isoformat(), "next": due.isoformat()})


def _moment(value: object) -> datetime | None:
    """Return the stored moment ``value`` (ISO 8601), or ``None`` if it is not one."""
    return parse_datetime(value) if isinstance(value, str) else None


def _local(day: date, clock: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, clock.replace(tzinfo=None)))
