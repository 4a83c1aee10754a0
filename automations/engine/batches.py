"""Due instances advanced together: several steps in one transaction, each in its own savepoint.

The scheduler worker advances the instances whose timers fire at the same moment with
:func:`advance_due`: one commit (and, on SQLite, one turn of the database's single writer) for the
batch instead of one per instance. Each step is an ordinary :func:`~.steps.advance`, whose
``transaction.atomic()`` is a savepoint inside the batch's transaction: a step that fails is
rolled back alone. Nothing is held back and no lock waits for a time: the rows are locked by the
steps themselves, when they are due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.db import connection, transaction

from .steps import advance
from .walk import StepResult

logger = logging.getLogger("automations.engine")


def advance_due(
    automation_ids: Iterable[int], *, seconds: float | None = None
) -> tuple[dict[int, StepResult], list[int]]:
    """Advance the due instances ``automation_ids`` in one transaction, in the order given.

    Instances another worker holds, or that are not due, are skipped. The steps stop once they
    took ``seconds`` (if given), so that others waiting for the database get their turn. A step
    that raises is rolled back alone, logged, and left to the sweep; a database failure that spoils
    the transaction raises (nothing of the batch is committed). Return ``({id: StepResult}, ids
    not reached)``.
    """
    results: dict[int, StepResult] = {}
    automation_ids = list(automation_ids)
    began = time.monotonic()
    with transaction.atomic():
        for position, automation_id in enumerate(automation_ids):
            if seconds is not None and position and time.monotonic() - began > seconds:
                return results, automation_ids[position:]
            try:
                results[automation_id] = advance(automation_id, skip_locked=True, due_only=True)
            except Exception:
                if transaction.get_rollback() or not connection.is_usable():
                    raise  # the batch's transaction is spoilt: the caller advances them one by one
                logger.exception("Instance %s could not be advanced; the sweep retries.", automation_id)
    return results, []
