"""A frozen clock for tests: the time every part of Django Automations reads, moved on demand."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import unittest
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, overload

from django.test import override_settings
from django.utils import timezone

from automations.models import AutomationModel

from .running import Moved, run_until_idle

_Decorated = TypeVar("_Decorated", bound=Callable[..., Any])  # a test function or a test class

__all__ = ["FrozenClock", "Timer", "frozen_clock"]

START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday, far from any daylight saving change


class FrozenClock:
    """Freeze ``django.utils.timezone.now`` while inside; move it with :meth:`advance`.

    Use it as a context manager (``with frozen_clock() as clock:``) or as a decorator
    (``@frozen_clock()``) of a test function, sync or async, of a test method or of a test class
    (every test of a ``unittest.TestCase``, from its ``setUp`` to its cleanups; every ``test*``
    method of another class). Each entry starts again at ``start``. Every module of Django
    Automations reads the time through ``timezone.now()``, so waits, ``SkipAfter``, ``Repeat``
    schedules and the scheduler's timers all see the frozen time. ``recheck`` (a timedelta)
    replaces ``ATM_CONDITION_RECHECK_INTERVAL`` while inside: the clock stops at every re-check of
    an unmet ``AsSoonAs``, so a long journey that waits on a condition runs faster with a longer
    interval.
    """

    def __init__(
        self, start: datetime | None = None, *, max_steps: int = 100, recheck: timedelta | None = None
    ) -> None:
        if start is not None and timezone.is_naive(start):
            start = timezone.make_aware(start)
        self._start = start
        self.max_steps = max_steps
        self.recheck = recheck
        self.now: datetime | None = start  # None until entered, without a start
        self._saved: list[tuple[Callable[[], datetime], override_settings | None]] = []
        self._timers: list[Timer] = []

    @overload
    def __call__(self, func: None = None) -> datetime: ...
    @overload
    def __call__(self, func: _Decorated) -> _Decorated: ...
    def __call__(self, func: Callable[..., Any] | None = None) -> Any:
        if func is None:  # timezone.now() while frozen
            return self._current()
        if inspect.isclass(func):
            return self._decorate_class(func)
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def frozen_coroutine(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return frozen_coroutine

        @functools.wraps(func)
        def frozen(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return frozen

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            set_up = cls.setUp

            def setUp(test: unittest.TestCase) -> None:  # noqa: N802 -- unittest's name
                self.__enter__()
                test.addCleanup(self.__exit__, None, None, None)
                set_up(test)

            # wraps() returns setUp itself, a function; typeshed's _Wrapped it announces is no method.
            cls.setUp = functools.wraps(set_up)(setUp)  # type: ignore[method-assign, assignment]
            return cls
        for name, attribute in list(vars(cls).items()):
            if name.startswith("test") and callable(attribute):
                setattr(cls, name, self(attribute))
        return cls

    def __enter__(self) -> FrozenClock:
        if not self._saved:
            self.now = self._start or datetime.now(UTC).replace(microsecond=0)
        settings = None
        if self.recheck is not None:
            settings = override_settings(ATM_CONDITION_RECHECK_INTERVAL=self.recheck.total_seconds())
            settings.enable()
        self._saved.append((timezone.now, settings))
        timezone.now = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        timezone.now, settings = self._saved.pop()
        if settings is not None:
            settings.disable()

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> list[Moved]:
        """Move the time on by ``delta`` (or ``timedelta(**kwargs)``), running what falls due.

        The clock stops at each wake time on the way, in time order across all instances, and
        runs everything due then through the engine's own sweep until nothing more can move
        (see :func:`~automations.testing.run_until_idle`). Return what moved, in order.
        """
        return self.advance_to(self._target(delta, kwargs))

    def advance_to(self, moment: datetime) -> list[Moved]:
        """Move the time on to ``moment``, running what falls due on the way (see :meth:`advance`)."""
        target = self._moment(moment)
        moved = run_until_idle(max_steps=self.max_steps)
        while True:
            due = AutomationModel.objects.filter(wake_at__isnull=False, wake_at__lte=target)
            next_wake = due.order_by("wake_at").values_list("wake_at", flat=True).first()
            if next_wake is None:
                break
            self.now = max(self._current(), next_wake)
            moved += run_until_idle(max_steps=self.max_steps)
        self.now = target
        return moved + run_until_idle(max_steps=self.max_steps)

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer | asyncio.Handle:
        """Call ``callback()`` once the clock has moved on by ``delay`` seconds; return a handle to cancel.

        A scheduler worker takes this as its timer (``Scheduler(now=clock, call_later=clock.call_later)``,
        or ``scheduler_running(worker, clock=clock)``): its timers then fire when
        :meth:`aadvance` moves the time past them, not after real seconds.
        """
        if delay <= 0:  # due already: at once, as the event loop would
            return asyncio.get_running_loop().call_soon(callback, context=contextvars.Context())
        timer = Timer(self._current() + timedelta(seconds=delay), callback)
        self._timers.append(timer)
        return timer

    async def aadvance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move the time on by ``delta`` (or ``timedelta(**kwargs)``) in an async test.

        The clock stops at every timer of :meth:`call_later` on the way, earliest first, and fires
        it, letting the event loop run what it started. Nothing else is swept: a scheduler worker
        started with this clock does the work, as it would in production.
        """
        target = self._moment(self._target(delta, kwargs))
        while True:
            due = sorted((t for t in self._timers if not t.cancelled and t.at <= target), key=lambda t: t.at)
            if not due:
                break
            timer = due[0]
            self._timers.remove(timer)
            self.now = max(self._current(), timer.at)
            contextvars.Context().run(timer.callback)
            await asyncio.sleep(0)
        self.now = target

    def jump(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move the time on by ``delta`` (or ``timedelta(**kwargs)``) without running anything.

        As if no scheduler ran meanwhile (one that was down, or ``automation_step`` from cron):
        what fell due on the way stays due until the test runs it, with
        :func:`~automations.testing.run_until_idle`, :meth:`advance`, ``automation_step`` or
        ``AutomationModel.run()``. For tests of late and missed runs, and of the stepping itself.
        """
        self.jump_to(self._target(delta, kwargs))

    def jump_to(self, moment: datetime) -> None:
        """Move the time on to ``moment`` without running anything (see :meth:`jump`)."""
        self.now = self._moment(moment)

    def _target(self, delta: object, kwargs: dict[str, float]) -> datetime:
        self._check_frozen()
        if delta is not None and not isinstance(delta, timedelta):
            raise TypeError(f"The clock moves by a timedelta or by timedelta's arguments; got {delta!r}.")
        return self._current() + (delta or timedelta()) + timedelta(**kwargs)

    def _check_frozen(self) -> None:
        if not self._saved:
            raise RuntimeError("The clock is not frozen: move it inside its with block or decorated test.")

    def _current(self) -> datetime:
        """Return the clock's time; raise ``RuntimeError`` if it has none (never entered, no start)."""
        if self.now is None:
            raise RuntimeError("The clock has no time yet: enter it (with frozen_clock() as clock:) first.")
        return self.now

    def _moment(self, moment: object) -> datetime:
        self._check_frozen()
        if not isinstance(moment, datetime):
            raise TypeError(f"The clock moves to a datetime; got {moment!r}.")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        now = self._current()
        if moment < now:
            earlier = f"{moment.isoformat()} is before {now.isoformat()}"
            raise ValueError(f"The clock only moves forward: {earlier}.")
        return moment


class Timer:
    """A callback waiting for the frozen clock to reach ``at`` (see :meth:`FrozenClock.call_later`)."""

    def __init__(self, at: datetime, callback: Callable[[], object]) -> None:
        self.at, self.callback, self.cancelled = at, callback, False

    def cancel(self) -> None:
        """Do not call the callback."""
        self.cancelled = True


def frozen_clock(
    start: datetime | None = None, *, max_steps: int = 100, recheck: timedelta | None = None
) -> FrozenClock:
    """Return a :class:`FrozenClock` starting at ``start`` (default: the real time on entering).

    A naive ``start`` is taken in the current time zone. ``max_steps`` bounds the sweeps run at
    each moment the clock stops at (see :func:`~automations.testing.run_until_idle`); ``recheck``
    is the condition re-check interval while frozen (default: ``ATM_CONDITION_RECHECK_INTERVAL``).
    """
    return FrozenClock(start, max_steps=max_steps, recheck=recheck)
