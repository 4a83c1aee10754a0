"""Deadlines: a waiting node left by a stated route once a time has passed since it was reached.

``flow.Form(...).Deadline(days=2, then=this.escalate)`` gives the form's task two days; then the
task is finished with the message :data:`EXPIRED` and the path continues at ``escalate``. The
deadline is a moment computed from the task's ``created``, so it needs no timer of its own: it
bounds the node's wait like a ``SkipAfter`` does, the instance's ``wake_at`` is never later than
it, and the first step at or after it (a worker's timer, ``automation_step``, a sweep after a
pause) takes the route, once. The moment is kept on the open task (``deadline``) for task lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .references import NodeName

#: The message of a task whose deadline passed.
EXPIRED = "deadline passed"


@dataclass(frozen=True)
class Deadline:
    """A node's deadline: ``duration`` after the node was reached, continue at ``then``.

    ``duration`` is a ``timedelta`` or a callable (``this.method``) taking the task; ``then``
    names the node to continue with (``None``: the node's successor, as after the node itself).
    """

    duration: Any
    then: NodeName | None = None


def deadline_of(
    node_label: str,
    duration: Any = None,
    then: NodeName | None = None,
    **parts: float,
) -> Deadline:
    """Return the :class:`Deadline` of ``.Deadline(duration, then=..., days=...)`` on a ``node_label`` node.

    Give either ``duration`` (a timedelta or a callable taking the task) or the parts of one as
    ``timedelta`` takes them (``weeks``, ``days``, ``hours``, ``minutes``, ``seconds``).
    """
    given = {name: value for name, value in parts.items() if value}
    if duration is not None and given:
        raise ValueError(
            f"{node_label}.Deadline(): give a duration or {', '.join(sorted(given))}=, not both."
        )
    if duration is None:
        try:
            duration = timedelta(**given)
        except TypeError as exc:
            raise TypeError(f"{node_label}.Deadline(): {exc}.") from exc
        if duration <= timedelta(0):
            raise ValueError(
                f"{node_label}.Deadline() needs a time, e.g. .Deadline(days=2, then=this.escalate)."
            )
    elif not isinstance(duration, timedelta) and not callable(duration) and not isinstance(duration, str):
        if not hasattr(duration, "name"):  # this.method
            raise TypeError(
                f"{node_label}.Deadline(): the duration must be a timedelta or a callable taking the task, "
                f"not {duration!r}."
            )
    return Deadline(duration, then)


def expires(task: Any, duration: timedelta) -> datetime:
    """Return the moment a deadline of ``duration`` expires for ``task`` (counted from ``created``)."""
    return task.created + duration
