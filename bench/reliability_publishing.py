"""What the reliability benchmark's two drivers share: a timeline of notes and confirmed publishes.

``Chaos`` (bench/reliability.py) and ``Faults`` (bench/reliability_faults.py) both derive from
:class:`ConfirmedPublishing`; each says in :meth:`~ConfirmedPublishing.not_confirmed` how it counts
a publish that failed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

PUBLISHING = 50  # confirmed publishes in flight at most


class ConfirmedPublishing:
    """Publish events with ``confirm=True``, at most ``PUBLISHING`` at once, and note what happens when."""

    args: Any  # the parsed command line; ``confirm_timeout`` is read
    counts: Counter
    timeline: list[str]

    def start_clock(self):
        """Start the timeline at 0 s and open the publishing gate (inside the running event loop)."""
        self.began = time.monotonic()
        self.in_flight = asyncio.Semaphore(PUBLISHING)

    def note(self, what):
        self.timeline.append(f"{time.monotonic() - self.began:7.1f} s  {what}")

    async def confirmed(self, event, what) -> bool:
        """Publish ``event``, wait for its confirmation, count it under ``what``; return whether it came."""
        from automations import events

        async with self.in_flight:
            try:
                await events.apublish(event, confirm=True, timeout=self.args.confirm_timeout)
            except Exception as exc:
                self.not_confirmed(what, exc)
                return False
        self.counts[f"{what} confirmed"] += 1
        return True

    def not_confirmed(self, what, exc):
        """Count a publish under ``what`` that raised ``exc``."""
        self.counts[f"{what} not confirmed ({type(exc).__name__})"] += 1
