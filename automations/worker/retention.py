"""The scheduler worker's retention: finished instances older than ``ATM_FINISHED_KEPT_DAYS`` deleted.

Every ``ATM_SWEEP_INTERVAL`` seconds a worker deletes the finished instances last updated more than
``ATM_FINISHED_KEPT_DAYS`` days ago, with their tasks and audit entries, the oldest first, in
batches of at most ``ATM_DELETE_BATCH`` instances, each in a transaction of its own that should take
at most ``ATM_DELETE_BATCH_SECONDS`` (:mod:`automations.history`). Failed and cancelled instances
are kept. Several workers may do it at once: where the database has ``SKIP LOCKED`` they take
different rows, and a row deleted already is simply not found again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from channels.db import database_sync_to_async

from automations import history

from . import database

logger = logging.getLogger("automations.scheduler")


class Retention:
    """What :class:`~automations.worker.Scheduler` does with old finished instances: delete them."""

    stats: dict[str, int]  # the Scheduler's attributes
    sweep_interval: float

    async def delete_history(self) -> dict[str, int]:
        """Delete the finished instances older than ``ATM_FINISHED_KEPT_DAYS`` days, a batch at a time.

        Each batch is one hop to the engine's database thread; between two batches the worker waits
        as long as the last one took, so that deleting takes at most about half of that thread's
        time and timers and events are served in between. Return the objects deleted by model
        label, as ``QuerySet.delete()`` counts them; nothing when ``ATM_FINISHED_KEPT_DAYS`` is
        ``None``. A batch that fails is logged; the next round tries again.
        """
        sizes = history.batch_sizes()
        counts: Counter[str] = Counter()
        while True:
            size = sizes.size
            try:
                batch = await database_sync_to_async(database.delete_finished)(size)
            except Exception:
                logger.exception("Old finished instances not deleted; the next round tries again.")
                break
            if batch is None:
                break
            sizes.took(batch.seconds)
            counts.update(batch.counts)
            self.stats["deleted"] += batch.rows
            if batch.chosen < size:
                break
            await asyncio.sleep(batch.seconds)
        if counts:
            logger.info("Deleted old finished instances: %s", dict(counts))
        return {label: count for label, count in counts.items() if count}

    async def _delete_history_periodically(self):
        while True:
            await asyncio.sleep(self.sweep_interval)
            await self.delete_history()
