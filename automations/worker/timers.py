"""The scheduler worker's timers: the earliest wake time of each instance it knows, at most ``limit``.

Two heaps index the same timers: one by the earliest wake time, which the worker's timer fires
for, and one by the latest, so that a full table makes room for an earlier wake time by dropping
its latest one in O(log n). The table thus always holds the earliest wake times it was told of:
whoever fills it with far-off wake times cannot keep a nearer one out, and the sweeps, which load
the earliest wake times from the database, can always arm theirs. A dropped wake time is still in
the database, and a later sweep arms it when it comes near.

Entries are removed from a heap only when they reach its top ("lazy deletion"): an entry counts if
the table still holds that wake time for that instance. Both heaps are rebuilt from the table when
they hold many more entries than it.
"""

from __future__ import annotations

import heapq
from datetime import datetime

COMPACT_SLACK = 1_000  # stale heap entries tolerated beyond the table's size before the heaps are rebuilt


class _Later:
    """A timer in the max-heap: the later wake time (then the higher id) sorts first."""

    __slots__ = ("at", "automation_id")

    def __init__(self, at: datetime, automation_id: int):
        self.at, self.automation_id = at, automation_id

    def __lt__(self, other: _Later) -> bool:
        return (self.at, self.automation_id) > (other.at, other.automation_id)


class Timers:
    """Wake times by instance id, at most ``limit`` of them, the earliest kept.

    ``slack``: stale heap entries tolerated beyond twice the table's size before the heaps are rebuilt.
    """

    def __init__(self, limit: int, slack: int = COMPACT_SLACK):
        self.limit, self.slack = limit, slack
        self._due: dict[int, datetime] = {}  # instance id -> earliest wake time known
        self._earliest: list[tuple[datetime, int]] = []
        self._latest: list[_Later] = []

    def __len__(self) -> int:
        return len(self._due)

    def heap_size(self) -> int:
        """Return the entries of the larger heap, stale ones included (what the table costs in memory)."""
        return max(len(self._earliest), len(self._latest))

    def get(self, automation_id: int) -> datetime | None:
        """Return the wake time kept for ``automation_id``, if any."""
        return self._due.get(automation_id)

    def add(self, automation_id: int, at: datetime) -> bool:
        """Keep ``at`` for ``automation_id`` unless a time no later is kept; return whether it was kept.

        When the table is full, a new instance's wake time earlier than the latest one kept takes that
        one's place; one no earlier is not kept.
        """
        known = self._due.get(automation_id)
        if known is not None and known <= at:
            return False
        if known is None and len(self._due) >= self.limit:
            latest = self.last()
            if latest is None or (at, automation_id) >= latest:
                return False
            heapq.heappop(self._latest)  # the entry last() returned
            del self._due[latest[1]]  # its entry in the other heap is stale from now on
        self._due[automation_id] = at
        heapq.heappush(self._earliest, (at, automation_id))
        heapq.heappush(self._latest, _Later(at, automation_id))
        if self.heap_size() > 2 * len(self._due) + self.slack:
            self._compact()
        return True

    def first(self) -> tuple[datetime, int] | None:
        """Return ``(wake time, instance id)`` of the earliest timer, or ``None``."""
        heap = self._earliest
        while heap and self._due.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def last(self) -> tuple[datetime, int] | None:
        """Return ``(wake time, instance id)`` of the latest timer, or ``None``."""
        heap = self._latest
        while heap and self._due.get(heap[0].automation_id) != heap[0].at:
            heapq.heappop(heap)
        return (heap[0].at, heap[0].automation_id) if heap else None

    def pop_due(self, until: datetime, limit: int) -> list[tuple[int, datetime]]:
        """Remove up to ``limit`` timers due by ``until``; return them earliest first, as ``(id, at)``."""
        due: list[tuple[int, datetime]] = []
        while len(due) < limit:
            first = self.first()
            if first is None or first[0] > until:
                break
            at, automation_id = heapq.heappop(self._earliest)
            del self._due[automation_id]
            due.append((automation_id, at))
        return due

    def _compact(self) -> None:
        self._earliest = [(at, automation_id) for automation_id, at in self._due.items()]
        self._latest = [_Later(at, automation_id) for automation_id, at in self._due.items()]
        heapq.heapify(self._earliest)
        heapq.heapify(self._latest)
