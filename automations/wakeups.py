"""How an instance that should move is woken: in place, or by the scheduler worker.

Without a worker (``ATM_WORKER = False``, the default) a woken instance runs in place at once, or
right after the current step commits if the wake-up comes from inside a step. With a worker, the
wake-up is published as an ``automation.wake`` event once the transaction commits; the instance's
``wake_at`` is already set in the database, so a lost event only delays it until the next sweep.
"""

from __future__ import annotations

from django.db import transaction

from automations import settings as atm_settings


def wake(automation) -> None:
    """Let ``automation`` (an ``Automation`` object) continue as soon as possible."""
    from automations import engine

    if atm_settings.get("ATM_WORKER"):
        automation_id = automation.id
        transaction.on_commit(lambda: _publish_wake(automation_id))
    elif engine.in_step():
        transaction.on_commit(lambda: engine.advance(automation))
    else:
        engine.advance(automation)


def hint(automation_id: int, wake_at) -> None:
    """Tell the scheduler worker that ``automation_id`` is next due at ``wake_at``."""
    if atm_settings.get("ATM_WORKER"):
        transaction.on_commit(lambda: _publish_wake(automation_id, wake_at))


def _publish_wake(automation_id, at=None):
    from automations import events

    events.publish_wake(automation_id, at=at)
