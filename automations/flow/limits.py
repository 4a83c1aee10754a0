"""Flow control: how many instances may run a node at once, and how often it may start.

:class:`Limited` gives a node the modifiers ``.Concurrency()`` and ``.RateLimit()``; each adds a
:class:`Limit`. :func:`instance_limit` reads a class's ``Meta.concurrency``: how many of its
instances may be active at once. The engine admits paths to a limited node, and new instances to
a limited class, in the order they arrived (:mod:`automations.engine.admission`); one over a
limit waits without holding a thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Self

from automations.outcomes import Visit, Wait
from automations.starting import own_meta_option

from .declaration import AutomationDeclarationError

CONCURRENCY, RATE = "concurrency", "rate"


@dataclass(frozen=True)
class Limit:
    """One limit of a node: at most ``count`` at once (``CONCURRENCY``) or per ``per`` (``RATE``).

    ``key`` names a key of the instance's data: instances with different values there (e.g.
    different customers) are limited apart.
    """

    kind: str
    count: int
    per: timedelta | None = None
    key: str | None = None

    def scope(self, node: str, data: dict[str, Any]) -> str:
        """Return the queue of this limit for a path at ``node`` (``<class path>.<name>``) with ``data``."""
        scope = f"{node}:{self.kind}"
        if self.key is not None:
            scope += f":{self.key}={data.get(self.key)!r}"
        return scope


class Limited:
    """The flow-control modifiers of a node (mixed into :class:`~automations.flow.Execute`)."""

    limits: tuple[Limit, ...] = ()

    def Concurrency(self, count: int, *, key: str | None = None) -> Self:  # noqa: N802
        """Let at most ``count`` instances run this node at once (per value of ``data[key]``).

        An instance runs the node from the moment it is admitted until its task is finished (for
        ``threaded=True`` on a task backend, until the call's result arrived). Others wait in the
        order they arrived.
        """
        self._add_limit(Limit(CONCURRENCY, _count(self, "Concurrency", count), key=_key(self, key)))
        return self

    def RateLimit(self, count: int, *, per: timedelta, key: str | None = None) -> Self:  # noqa: N802
        """Start this node at most ``count`` times in any span of ``per`` (per value of ``data[key]``)."""
        if not isinstance(per, timedelta) or per <= timedelta(0):
            raise AutomationDeclarationError(
                f"{self!r}: .RateLimit() needs per=, a positive timedelta such as timedelta(minutes=1), "
                f"not {per!r}."
            )
        self._add_limit(Limit(RATE, _count(self, "RateLimit", count), per=per, key=_key(self, key)))
        return self

    def admit(self, visit: Visit) -> Wait | None:
        """Return a ``Wait`` while a limit keeps the path out of this node, else ``None``."""
        return visit.admit(self.limits) if self.limits else None

    def _add_limit(self, limit: Limit) -> None:
        self.limits = (*[old for old in self.limits if old.kind != limit.kind], limit)


def _count(node: object, modifier: str, count: object) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise AutomationDeclarationError(
            f"{node!r}: .{modifier}() needs a whole number of at least 1, not {count!r}."
        )
    return count


def _key(node: object, key: object) -> str | None:
    if key is not None and not isinstance(key, str):
        raise AutomationDeclarationError(f"{node!r}: key= names a key of the instance's data, not {key!r}.")
    return key


def instance_limit(cls: type) -> Limit | None:
    """Return the limit of ``cls``'s own ``Meta.concurrency`` (per ``Meta.concurrency_key``), or ``None``.

    At most ``concurrency`` instances of the class (per value of ``data[concurrency_key]``) are
    active, from their first node until they stop; the declaration has been checked (E051, E052).
    """
    count = own_meta_option(cls, "concurrency")
    if count is None:
        return None
    return Limit(CONCURRENCY, count, key=own_meta_option(cls, "concurrency_key"))
