"""Retries: a failing call tried again after a backoff, each attempt a step of its own.

``.Retry(attempts=5, backoff=flow.Exponential(first=timedelta(seconds=10)), on=(ConnectionError,))``
on an ``Execute`` (or a ``SendMessage``) turns a failure into a wait: the node's task stays open,
its ``result`` holds the attempt state (:class:`PendingRetry`), and the instance waits for time
until the next attempt, as for any other timer. Nothing is held in memory between attempts: the
task row and the instance's ``wake_at`` are the whole state, written in the step's transaction,
so a worker that dies between two attempts loses none and repeats none. After the last attempt
(or a failure the policy does not retry) the failure is what it is without ``.Retry()``: the
``.OnError()`` route, or the instance stops.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self, TypeAlias

from django.utils.dateparse import parse_datetime

from automations.logsafe import shown
from automations.outcomes import TIME, HoldVisit, Proceed, Wait

from .declaration import AutomationDeclarationError
from .nodes import Node
from .references import Reference, reference_name

logger = logging.getLogger("automations.engine")

#: What a backoff returns: the pause before the next attempt (seconds or a timedelta), or ``None``
#: to give up.
Pause: TypeAlias = float | int | timedelta | None

#: A backoff: called with the exception and the number of the attempt that failed (1, 2, ...).
BackoffFunction: TypeAlias = Callable[[BaseException, int], Pause]

RETRY_KEY = "retry"  # the key of the attempt state in a waiting task's result
ERROR_LENGTH = 500  # characters of the failed attempt's exception kept with the attempt state


def _duration(value: float | int | timedelta, name: str) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        duration = timedelta(seconds=value)
    else:
        raise AutomationDeclarationError(f"{name} must be a number of seconds or a timedelta, not {value!r}.")
    if duration < timedelta(0):
        raise AutomationDeclarationError(f"{name} must not be negative, not {value!r}.")
    return duration


class Fixed:
    """Wait the same time before every attempt: ``flow.Fixed(timedelta(minutes=1))`` or ``Fixed(60)``."""

    def __init__(self, pause: float | int | timedelta) -> None:
        self.pause = _duration(pause, "Fixed(pause)")

    def __call__(self, exception: BaseException, attempt: int) -> timedelta:
        return self.pause

    def __repr__(self) -> str:
        return f"Fixed({self.pause!r})"


class Exponential:
    """Wait ``first``, then ``factor`` times longer before each further attempt, up to ``maximum``.

    With ``jitter=True`` each pause is a random time between half of it and all of it, so that
    instances that failed together do not all try again at the same moment.
    """

    def __init__(
        self,
        first: float | int | timedelta = 1,
        factor: float = 2,
        maximum: float | int | timedelta | None = None,
        jitter: bool = False,
    ) -> None:
        self.first = _duration(first, "Exponential(first)")
        if not isinstance(factor, int | float) or isinstance(factor, bool) or factor < 1:
            raise AutomationDeclarationError(
                f"Exponential(factor) must be a number of at least 1, not {factor!r}."
            )
        self.factor = factor
        self.maximum = None if maximum is None else _duration(maximum, "Exponential(maximum)")
        self.jitter = jitter

    def __call__(self, exception: BaseException, attempt: int) -> timedelta:
        seconds = self.first.total_seconds() * self.factor ** (attempt - 1)
        if self.maximum is not None:
            seconds = min(seconds, self.maximum.total_seconds())
        if self.jitter:
            seconds *= 0.5 + random.random() / 2  # noqa: S311 - spreading timers, not secrets
        return timedelta(seconds=seconds)

    def __repr__(self) -> str:
        return (f"Exponential(first={self.first!r}, factor={self.factor!r}, maximum={self.maximum!r}, "
                f"jitter={self.jitter!r})")  # fmt: skip


@dataclass(frozen=True)
class RetryPolicy:
    """How often a node is tried (``attempts``, the first one included), how long to wait, on what."""

    attempts: int
    backoff: BackoffFunction | Any  # a callable, or a reference to a method of the automation
    on: tuple[type[BaseException], ...]


@dataclass(frozen=True)
class PendingRetry:
    """A task waiting for its next attempt: ``attempt`` of ``attempts`` runs at ``at``."""

    attempt: int
    attempts: int
    at: datetime
    error: str  # the repr() of the exception of the attempt before
    exception: str  # its class path

    def as_json(self) -> dict[str, Any]:
        return {RETRY_KEY: {"attempt": self.attempt, "attempts": self.attempts, "at": self.at.isoformat(),
                            "error": self.error, "exception": self.exception}}  # fmt: skip


def pending_retry(task: Any) -> PendingRetry | None:
    """Return the attempt ``task`` (an open task row) waits for, or ``None`` if it waits for none."""
    return retry_state(task.result) if task.finished is None else None


def retry_state(result: Any) -> PendingRetry | None:
    """Return the attempt state an open task's ``result`` holds, or ``None``."""
    state = result.get(RETRY_KEY) if isinstance(result, dict) else None
    if not isinstance(state, dict):
        return None
    at = parse_datetime(str(state.get("at", "")))
    if at is None or not isinstance(state.get("attempt"), int):
        return None
    return PendingRetry(state["attempt"], int(state.get("attempts", 0)), at, str(state.get("error", "")),
                        str(state.get("exception", "")))  # fmt: skip


class Retrying(Node):
    """A node whose work may be tried again: the ``.Retry()`` modifier (``Execute``, ``SendMessage``)."""

    _retry: RetryPolicy | None = None

    def Retry(  # noqa: N802 - the documented modifier name
        self,
        attempts: int = 3,
        backoff: BackoffFunction | float | int | timedelta | Any = None,
        on: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
    ) -> Self:
        """Try the node's work up to ``attempts`` times (the first included) when it raises.

        ``backoff`` is the pause before the next attempt: seconds or a ``timedelta`` (the same
        each time), :class:`Fixed`, :class:`Exponential`, or a callable (or ``this.method``) taking
        ``(exception, attempt)`` that returns seconds, a ``timedelta``, or ``None`` to give up.
        Default: ``Exponential(first=1, factor=2)``. Only exceptions of the classes in ``on``
        (default: every ``Exception``) are retried; others fail at once.
        """
        name = f"{type(self).__name__}.Retry()"
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise AutomationDeclarationError(
                f"{name}: attempts must be a whole number of at least 1, not {attempts!r}."
            )
        if backoff is None:
            backoff = Exponential()
        elif isinstance(backoff, int | float | timedelta) and not isinstance(backoff, bool):
            backoff = Fixed(backoff)
        elif not callable(backoff) and not isinstance(backoff, str) and not hasattr(backoff, "name"):
            raise AutomationDeclarationError(
                f"{name}: backoff must be seconds, a timedelta, flow.Fixed(), flow.Exponential() or a "
                f"callable (exception, attempt) -> seconds | None, not {backoff!r}."
            )
        classes = on if isinstance(on, tuple) else (on,)
        if not classes or not all(
            isinstance(cls, type) and issubclass(cls, BaseException) for cls in classes
        ):
            raise AutomationDeclarationError(
                f"{name}: on must be an exception class or a tuple of them, not {on!r}."
            )
        self._retry = RetryPolicy(attempts, backoff, classes)
        return self

    def code_references(self) -> Iterable[tuple[str, str]]:
        yield from super().code_references()
        backoff = self._retry.backoff if self._retry is not None else None
        if isinstance(backoff, Reference) or (isinstance(backoff, str) and backoff):
            yield ".Retry(backoff=)", reference_name(backoff)

    def _work_may_wait(self) -> bool:
        return self._retry is not None  # the pauses between attempts

    def hold(self, visit: HoldVisit) -> Proceed | Wait | None:
        """Hold the path as the modifiers say, and while the task's next attempt is not due yet."""
        held = super().hold(visit)
        if held is not None or self._retry is None:
            return held
        pending = pending_retry(visit.task)
        if pending is not None and visit.now < pending.at:
            return self.bound_wait(Wait(until=pending.at, awaits=TIME), visit.task)
        return None

    def retry_after(self, error: BaseException, task: Any, now: datetime) -> Wait | None:
        """Return the wait for the next attempt after ``error``, or ``None`` if the failure stands.

        Called by the engine after the node's savepoint was rolled back: the wait keeps the task
        open and stores the attempt state as its result, in the step's transaction.
        """
        policy = self._retry
        if policy is None or not isinstance(error, policy.on):
            return None
        pending = pending_retry(task)
        failed = pending.attempt if pending is not None else 1
        if failed >= policy.attempts:
            return None
        try:
            pause = self.resolve(policy.backoff)(error, failed)
            at = None if pause is None else now + _duration(pause, f"{self!r}.Retry(backoff)")
        except Exception:  # a failing backoff gives up: the node's own failure is what is recorded
            logger.exception("The backoff of %r raised; %s is not retried.", self, shown(error))
            return None
        if at is None:
            return None
        logger.warning("Automation instance %s: %r failed at attempt %s of %s with %s; next attempt at %s.",
                       getattr(self._automation, "id", None), self, failed, policy.attempts, shown(error),
                       at.isoformat())  # fmt: skip
        kind = type(error)
        shown_error = shown(error, ERROR_LENGTH)
        state = PendingRetry(
            failed + 1, policy.attempts, at, shown_error, f"{kind.__module__}.{kind.__qualname__}"
        )
        return self.bound_wait(Wait(until=at, result=state.as_json(), awaits=TIME), task)


def proceeded_after(pending: PendingRetry | None, outcome: Proceed) -> Proceed:
    """Return ``outcome`` with the attempt that succeeded noted in its message (``OK, attempt 3 of 5``)."""
    if pending is not None and outcome.message == "OK":
        outcome.message = f"OK, attempt {pending.attempt} of {pending.attempts}"
    return outcome
