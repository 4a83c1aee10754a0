"""Deleting many rows in batches: each batch in a short transaction of its own, bounded in size and time.

Used for the history of finished instances (``AutomationModel.delete_history``, the scheduler
worker's retention): a batch takes the ids of at most ``size`` rows, first in the queryset's order,
and deletes them with ``QuerySet.delete()``, so that Django's cascades and the ``pre_delete`` and
``post_delete`` signals of the deleted models work as usual. A batch never reads more rows than it
deletes, and :class:`BatchSize` halves the next batch after one that took longer than its time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connections, models, router, transaction

from automations import settings as atm_settings


class BatchSize:
    """The size of the next batch: at most ``most``; halved after a batch slower than ``seconds``.

    After a batch that took less than half of ``seconds`` the size doubles again, up to ``most``.
    """

    def __init__(self, most: int, seconds: float):
        self.most, self.seconds = most, seconds
        self.size = most

    def took(self, elapsed: float) -> None:
        """Adjust the size of the next batch to the time the last one took."""
        if elapsed > self.seconds:
            self.size = max(1, self.size // 2)
        elif elapsed < self.seconds / 2:
            self.size = min(self.most, self.size * 2)


def batch_sizes(most: int | None = None) -> BatchSize:
    """Return the sizes of batches of at most ``most`` instances (default ``ATM_DELETE_BATCH``) that
    should take at most ``ATM_DELETE_BATCH_SECONDS`` each."""
    seconds = atm_settings.get("ATM_DELETE_BATCH_SECONDS")
    return BatchSize(most or atm_settings.get("ATM_DELETE_BATCH"), seconds)


class Batch:
    """What one batch did: the rows it chose, those of the queryset's model it deleted, Django's
    counts by model label (cascades included), and the seconds its transaction took."""

    def __init__(self, chosen: int, rows: int, counts: dict[str, int], seconds: float):
        self.chosen, self.rows, self.counts, self.seconds = chosen, rows, counts, seconds

    def __repr__(self) -> str:
        return (
            f"Batch(chosen={self.chosen}, rows={self.rows}, "
            f"counts={self.counts}, seconds={self.seconds:.3f})"
        )


def delete_batch(queryset: models.QuerySet[Any], size: int) -> Batch:
    """Delete the first ``size`` rows of the ordered ``queryset`` (and what cascades) in one transaction.

    Where the database can, the rows are locked with ``SKIP LOCKED``: several workers deleting the
    same history take different rows instead of waiting for each other. The rows are deleted by id
    with ``queryset``'s conditions repeated, so a row that changed since it was chosen stays.
    """
    using = router.db_for_write(queryset.model)
    began = time.perf_counter()
    with transaction.atomic(using=using):
        candidates = queryset.using(using)
        if connections[using].features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:size])
        counts: dict[str, int] = {}
        if ids:
            counts = queryset.using(using).filter(pk__in=ids).delete()[1]
    rows = counts.get(queryset.model._meta.label, 0)
    return Batch(len(ids), rows, counts, time.perf_counter() - began)


def delete_in_batches(
    queryset: models.QuerySet[Any],
    sizes: BatchSize,
    progress: Callable[[Batch], object] | None = None,
) -> tuple[int, dict[str, int]]:
    """Delete every row of the ordered ``queryset`` in batches sized by ``sizes``.

    After each batch commits, ``progress(batch)`` is called, and the loop pauses as long as the
    batch took: other writers waiting for the database (on SQLite, for its one write lock) get it
    in between, and deleting takes at most about half of the database's write time. Return
    ``(total, {model_label: count})`` as ``QuerySet.delete()`` does, summed over the batches.
    """
    counts: Counter[str] = Counter()
    while True:
        size = sizes.size
        batch = delete_batch(queryset, size)
        sizes.took(batch.seconds)
        counts.update(batch.counts)
        if progress is not None and batch.rows:
            progress(batch)
        if batch.chosen < size:
            break
        time.sleep(batch.seconds)
    deleted = {label: count for label, count in counts.items() if count}
    return sum(deleted.values()), deleted
