"""The backend's side of a long call: run it once, store its outcome, wake the instance.

:func:`run` is what the task backend's worker runs for each attempt of a
:class:`~automations.models.LongCall` (:mod:`.backend_task` makes it a task). See
:mod:`.long_calls` for the engine's side: the lease, the attempts, the outcome taken in a step.
"""

from __future__ import annotations

import copy
import traceback
from typing import Any

from django.db import transaction
from django.utils import timezone

from automations import registry
from automations.events import wakeups
from automations.models import AutomationModel, AutomationTaskModel, LongCall, Status

from .long_calls import call_token
from .steps import advance
from .walk import jsonable


def run(token: str, attempt: int) -> str:
    """Run attempt ``attempt`` of the call ``token`` (on the task backend's worker); store its outcome.

    Return what happened: ``"done"``, or ``"ignored"`` for a call that is done, renewed or gone.
    """
    call = LongCall.objects.filter(pk=token).first()
    if call is None or call.done is not None or call.attempt != attempt:
        return "ignored"
    row = AutomationModel.objects.filter(pk=call.automation_id, status__in=Status.alive()).first()
    task = _open_task(call) if row is not None else None
    if row is None or task is None:
        return "ignored"
    automation = registry.get(row.automation_class)(automation=row)
    before = copy.deepcopy(row.data)
    task.automation = row
    with transaction.atomic():
        try:
            with transaction.atomic():
                result = getattr(automation, call.node).call(task)
            data = {key: value for key, value in row.data.items() if before.get(key, _MISSING) != value}
            outcome: dict[str, Any] = {"result": jsonable(result), "data": data}
        except Exception as exc:  # recorded as the node's error, as a call in a step is
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            outcome = {"error": repr(exc), "traceback": text}
        stored = LongCall.objects.filter(pk=token, done=None).update(done=timezone.now(), outcome=outcome)
        if not stored:  # another attempt's outcome came first: this one's work is undone
            transaction.set_rollback(True)
            return "ignored"
        _wake_at_commit(call.automation_id)
    return "done"


_MISSING = object()


def _open_task(call: LongCall) -> AutomationTaskModel | None:
    for task in AutomationTaskModel.objects.filter(automation_id=call.automation_id, status=call.node,
                                                   finished=None):  # fmt: skip
        if call_token(task.result) == str(call.token):
            return task
    return None


def _wake_at_commit(automation_id: int) -> None:
    """Let the instance take the outcome: wake the scheduler worker, or step it here without one."""
    wakeups.mark_due(automation_id)
    if wakeups.worker_available():
        transaction.on_commit(lambda: wakeups.wake_now(automation_id))
    else:
        transaction.on_commit(lambda: advance(automation_id))
