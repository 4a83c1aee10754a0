"""Long steps on a task backend: ``Execute(threaded=True)`` calls enqueued on Django's ``TASKS``.

When the project configures ``TASKS`` (Django's task framework, or the ``django-tasks`` backport
on Django 5.2), a threaded ``Execute`` does not run its call in a step. The step that reaches it
writes a :class:`~automations.models.LongCall` (a token, attempt 1, a lease) and enqueues
:func:`run` for it on the backend once the step commits; the path waits. The backend's worker runs
the call (:mod:`.call_runner`) and stores its outcome on the row, in the transaction of the call's own
database work, unless an outcome is there already: so a late duplicate is rolled back and ignored.
Then the instance is woken, through a wake-up event when a scheduler worker runs, and its next step
takes the outcome: the call's result becomes the task's, the keys of ``data`` the call set are
merged into the instance's data, and an error is the node's error (``.OnError()`` applies).

The path waits until the lease runs out (``ATM_TASK_LEASE`` seconds). If no outcome came by then
(the backend lost the task: its worker was killed), the step enqueues the call again with the
next attempt; after ``ATM_TASK_ATTEMPTS`` lost attempts the node fails.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from automations import settings as atm_settings
from automations.exceptions import AutomationsError
from automations.models import LongCall
from automations.outcomes import MESSAGE, Outcome, Proceed, Wait

BACKEND_TASK = "automations.engine.backend_task.run_long_call"
TOKEN = "long_call"  # the key of a waiting task's result that holds its LongCall's token and attempt


class LongCallFailed(AutomationsError):
    """The call raised on the task backend: the message is its error, a note its traceback."""


class LongCallLost(AutomationsError):
    """The task backend lost the call more often than ``ATM_TASK_ATTEMPTS`` allows."""


def uses_task_backend() -> bool:
    """Return whether threaded calls go to a task backend: the project configures ``TASKS``."""
    configured = settings.is_overridden("TASKS")  # type: ignore[misc]  # LazySettings passes it on
    return bool(configured and atm_settings.get("ATM_TASK_BACKEND"))


def visit(visit: Any, node: Any) -> Outcome | None:
    """Return the outcome of ``node``'s call at this ``visit``: waiting for it, or its outcome.

    ``None`` without a task backend.
    """
    if not uses_task_backend():
        return None
    task, now = visit.task, visit.now
    token = call_token(task.result)
    call = LongCall.objects.filter(pk=token).first() if token else None
    if call is None:
        call = LongCall.objects.create(token=uuid.uuid4(), automation_id=visit.automation.id,
                                       node=task.status, lease_until=now + _lease())  # fmt: skip
        _enqueue_at_commit(call)
    elif call.done is None and call.lease_until <= now:
        if call.attempt >= atm_settings.get("ATM_TASK_ATTEMPTS"):
            raise LongCallLost(
                f"The task backend lost the call of {node!r} {call.attempt} times "
                f"(no result within ATM_TASK_LEASE = {atm_settings.get('ATM_TASK_LEASE')} seconds)."
            )
        renewed = LongCall.objects.filter(pk=call.pk, done=None, attempt=call.attempt).update(
            attempt=call.attempt + 1, lease_until=now + _lease()
        )
        call.refresh_from_db()
        if renewed:
            _enqueue_at_commit(call)
    if call.done is not None:
        return _outcome(visit, call)
    # Other state on the open task (a .Retry()'s attempt) stays beside the call's.
    others = task.result if isinstance(task.result, dict) else {}
    pending = {"token": str(call.token), "attempt": call.attempt, "lease_until": call.lease_until.isoformat()}
    return Wait(until=call.lease_until, awaits=MESSAGE, result={**others, TOKEN: pending})


def call_token(result: Any) -> str | None:
    """Return the token of the long call a waiting task's ``result`` names, or ``None``."""
    state = result.get(TOKEN) if isinstance(result, dict) else None
    return str(state.get("token")) if isinstance(state, dict) and state.get("token") else None


def _outcome(visit: Any, call: LongCall) -> Proceed:
    outcome = call.outcome or {}
    if "error" in outcome:
        failure = LongCallFailed(outcome["error"])
        failure.add_note(f"On the task backend:\n{outcome.get('traceback', '')}")
        raise failure
    visit.automation.data.update(outcome.get("data") or {})
    return Proceed(result=outcome.get("result"))


def _lease() -> timedelta:
    return atm_settings.seconds("ATM_TASK_LEASE")


def _enqueue_at_commit(call: LongCall) -> None:
    token, attempt = str(call.token), call.attempt
    transaction.on_commit(lambda: enqueue(token, attempt))


def enqueue(token: str, attempt: int) -> None:
    """Enqueue attempt ``attempt`` of the call ``token`` on the configured task backend."""
    # Loaded by its path, as the backend's worker loads it: the task framework is optional on
    # Django 5.2 (the django-tasks backport), and the task's module imports this one.
    run_long_call = import_string(BACKEND_TASK)
    result = run_long_call.using(backend=atm_settings.get("ATM_TASK_BACKEND")).enqueue(token, attempt)
    LongCall.objects.filter(pk=token, attempt=attempt).update(backend_task_id=str(result.id)[:255])
