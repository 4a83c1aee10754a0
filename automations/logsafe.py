"""Values from outside (events, requests) made safe to put into a log line.

A value is shown as its ``repr``, so that a newline or a control character from outside never starts
a log line of its own, and cut to a bounded length, so that a 5 MB name does not reach the log.
A :class:`Throttle` bounds how often a line about recurring bad input is written.
"""

from __future__ import annotations

import reprlib
import time

LIMIT = 200  # characters of one value shown in a log line


class _BoundedRepr(reprlib.Repr):
    """``reprlib.Repr`` that also bounds containers, so that no value is rendered whole first."""

    def __init__(self, limit):
        super().__init__()  # Python 3.11 takes no keyword arguments here
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, limit, limit, limit
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 8


def shown(value, limit: int = LIMIT) -> str:
    """Return ``value`` as a one-line ``repr`` of at most ``limit`` characters, for a log line."""
    try:
        text = _BoundedRepr(limit).repr(value)
    except Exception as exc:  # a hostile __repr__
        text = f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    if not text.isprintable():  # a custom __repr__ may still hold newlines or control characters
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Throttle:
    """Let a recurring log line through at most once per ``interval`` seconds, and count the others.

    So that a flood of bad input from outside costs a log line now and then, not one per item.
    """

    def __init__(self, interval: float, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last: float | None = None
        self._held = 0

    def passes(self) -> int:
        """Count one occurrence; return how many the line let through now reports, or 0 to hold it back.

        The first occurrence passes at once; then one per ``interval``, reporting the occurrences
        held back since the last line, itself included.
        """
        self._held += 1
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return 0
        self._last, count, self._held = now, self._held, 0
        return count
