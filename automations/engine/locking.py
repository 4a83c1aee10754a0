"""Locking instance rows: the one place that asks the database for ``SELECT ... FOR UPDATE``.

A step waits for its instance's row as long as another transaction holds it, except under
:func:`bounded_lock_wait`: there the step an event starts waits only briefly and raises
:class:`InstanceLockedError`, so that a node that runs for a long time, or a worker frozen in the
middle of a step, delays only the events of its own instance (the caller retries them later).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import DatabaseError, connection, models

from automations.exceptions import AutomationsError
from automations.models import AutomationModel
from automations.stepping import current_steps

_Row = TypeVar("_Row", bound=models.Model)

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout or NOWAIT that gave up

# Set by bounded_lock_wait(): the seconds lock_instance() waits for a row held by another transaction.
_lock_wait: ContextVar[float | None] = ContextVar("automations_lock_wait", default=None)

# Reads the transaction's lock_timeout and sets a new one for the rest of the transaction (SET
# LOCAL) in one round trip; the CTE is scanned before set_config() runs, so it sees the old value.
_SET_LOCK_TIMEOUT = (
    "WITH old AS MATERIALIZED (SELECT current_setting('lock_timeout') AS value) "
    "SELECT old.value, set_config('lock_timeout', %s, true) FROM old"
)
_RESET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, true)"


class InstanceLockedError(AutomationsError, RuntimeError):
    """Another transaction held an instance's row longer than :func:`bounded_lock_wait` allowed."""

    def __init__(self, automation_id: int, seconds: float) -> None:
        self.automation_id, self.seconds = automation_id, seconds
        super().__init__(
            f"Automation instance {automation_id} is locked by another transaction (a step that is "
            f"still running); waited {seconds:g} s for it. Retry the event later."
        )


@contextmanager
def bounded_lock_wait(seconds: float) -> Iterator[None]:
    """Let the steps started inside wait at most ``seconds`` for their instance's row.

    An instance whose row another transaction holds longer raises :class:`InstanceLockedError`
    from :func:`lock_instance` instead of waiting. PostgreSQL waits ``seconds`` (``lock_timeout``);
    other databases with ``SELECT ... FOR UPDATE NOWAIT`` do not wait at all; SQLite, whose lock
    is the whole database's, waits as always (its ``timeout``). The steps that nodes start inside a
    step (a message to another instance) wait as always, so that node code never sees the error.
    """
    token = _lock_wait.set(seconds)
    try:
        yield
    finally:
        _lock_wait.reset(token)


def lock_rows(queryset: models.QuerySet[_Row], *, skip_locked: bool = False) -> models.QuerySet[_Row]:
    """Return ``queryset`` locking its rows until the transaction ends, where the database can.

    ``skip_locked`` leaves out rows another transaction holds (where the database supports it).
    """
    if connection.features.has_select_for_update:
        queryset = queryset.select_for_update(
            skip_locked=skip_locked and connection.features.has_select_for_update_skip_locked
        )
    return queryset


def lock_instance(automation_id: int, *, skip_locked: bool = False) -> AutomationModel | None:
    """Lock the row of instance ``automation_id`` and return it (``None`` if gone or skipped).

    Under :func:`bounded_lock_wait` raise :class:`InstanceLockedError` if the row stays held;
    call it inside ``transaction.atomic()``, whose rollback then ends the failed statement.
    """
    seconds = _lock_wait.get()
    if seconds is not None and not skip_locked and _outermost_step(automation_id):
        if connection.vendor == "postgresql":
            return _lock_within(automation_id, seconds)
        if connection.features.has_select_for_update_nowait:
            return _lock_now(automation_id)
    return _first(lock_rows(AutomationModel.objects.filter(pk=automation_id), skip_locked=skip_locked))


def _first(rows: models.QuerySet[AutomationModel]) -> AutomationModel | None:
    for row in rows:
        return row  # one row at most: no ORDER BY or LIMIT to build, as first() would
    return None


def _outermost_step(automation_id: int) -> bool:
    """Return whether no step of another instance runs around this one here (no node code asks)."""
    return all(other == automation_id for other in current_steps())


def _lock_within(automation_id: int, seconds: float) -> AutomationModel | None:
    """Lock the row on PostgreSQL, waiting ``seconds`` at most; the transaction's timeout is kept."""
    with connection.cursor() as cursor:
        cursor.execute(_SET_LOCK_TIMEOUT, [f"{max(1, round(seconds * 1000))}ms"])
        old = cursor.fetchone()[0]
        try:
            row = _first(AutomationModel.objects.filter(pk=automation_id).select_for_update())
        except DatabaseError as exc:
            # The failed statement spoils the transaction; the caller's atomic() rolls it back,
            # and the lock_timeout set above with it.
            if _sqlstate(exc) == LOCK_NOT_AVAILABLE:
                raise InstanceLockedError(automation_id, seconds) from exc
            raise
        cursor.execute(_RESET_LOCK_TIMEOUT, [old])  # node code and later steps wait as before
    return row


def _lock_now(automation_id: int) -> AutomationModel | None:
    """Lock the row with ``NOWAIT``; a database error of that statement is taken for a held row."""
    try:
        return _first(AutomationModel.objects.filter(pk=automation_id).select_for_update(nowait=True))
    except DatabaseError as exc:
        raise InstanceLockedError(automation_id, 0) from exc


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__  # the driver's error, which Django's wraps
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
