"""The scheduler worker's retries: what failed for a passing reason is tried again soon, with backoff.

An event whose instance's row another transaction holds, and an event, a timer or a sweep that
failed on a database error (a restart of the database, a lost connection) is tried again after
``ATM_RETRY_DELAY`` seconds, doubled after every failure up to ``ATM_RETRY_MAX_DELAY``, instead of
waiting for the next sweep. :class:`Backoff` counts the failures of one thing in a row;
:class:`Retries` those of many things by key, each given up (and left to the sweeps) once it has
failed for longer than a window.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

from automations import settings as atm_settings

PRUNE_ABOVE = 1000  # failing keys kept before those failing longer than the window are dropped


class Backoff:
    """Failures of one thing in a row, and the delay before its next try."""

    def __init__(self) -> None:
        self.failures = 0

    def failed(self) -> float:
        """Record a failure; return the seconds to wait before the next try."""
        first, longest = atm_settings.get("ATM_RETRY_DELAY"), atm_settings.get("ATM_RETRY_MAX_DELAY")
        delay = min(first * 2 ** min(self.failures, 32), longest)
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        """Forget the failures: the next failure waits the shortest delay again."""
        self.failures = 0


class Retries:
    """Failures of many things by key; each is tried again for ``window`` seconds at most."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._failing: dict[Hashable, tuple[float, Backoff]] = {}  # key -> (first failure, its backoff)

    def __len__(self) -> int:
        return len(self._failing)

    def failed(self, key: Hashable) -> float | None:
        """Record a failure of ``key``; return the seconds before its next try, or ``None`` to give up.

        ``None`` once ``key`` has been failing for ``window`` seconds; its failures are forgotten.
        """
        now = time.monotonic()
        if len(self._failing) >= PRUNE_ABOVE:  # keys that stopped failing without a word
            self._failing = {k: v for k, v in self._failing.items() if now - v[0] < self.window}
        since, backoff = self._failing.setdefault(key, (now, Backoff()))
        if now - since >= self.window:
            del self._failing[key]
            return None
        return backoff.failed()

    def failures(self, key: Hashable) -> int:
        """Return how often ``key`` has failed in a row (0: not failing)."""
        failing = self._failing.get(key)
        return failing[1].failures if failing else 0

    def succeeded(self, key: Hashable) -> None:
        """Forget the failures of ``key``."""
        self._failing.pop(key, None)
