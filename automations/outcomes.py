"""The contract between nodes and the engine: what a node sees of a visit, and what it decides.

Nodes (:mod:`automations.flow`) are handed a :class:`Visit` and return one of :class:`Proceed`,
:class:`Wait`, :class:`Finish` and :class:`JoinArrival` from ``Node.visit``; the engine
(:mod:`automations.engine`) writes the task rows and moves the paths. Neither side knows how the
other is implemented.

The task rows and automation objects a visit carries are typed ``Any`` here: the models and the
``flow.Automation`` facade sit in layers above this module (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeAlias

UNCHANGED = object()


@dataclass
class Submission:
    """A person's input for an open task (a submitted form), handed to the node that waits for it."""

    task_id: int
    result: Any = None  # the cleaned data, stored as the task's result
    user: Any = None  # who submitted it
    apply: Callable[[], Any] | None = None  # run in the step (e.g. saving a ModelForm); returns what it saved
    consumed: bool = False  # set by the node that took the input; False after the step: not taken


class HoldVisit(Protocol):
    """What a node's modifiers see of a visit: the task and the time (``Node.hold``)."""

    @property
    def task(self) -> Any:
        """The node's task row, an ``AutomationTaskModel`` (not saved yet on the first visit)."""

    @property
    def now(self) -> datetime:
        """The time of the step."""


class Visit(HoldVisit, Protocol):
    """What a node sees of the step that visits it (``Node.visit``, ``Node.enter``)."""

    @property
    def automation(self) -> Any:
        """The ``flow.Automation`` object being stepped."""

    @property
    def run_threaded(self) -> bool:
        """Whether ``Execute(threaded=True)`` nodes run here (else they are handed to the worker)."""

    @property
    def submission(self) -> Submission | None:
        """A person's input for this node's task, or ``None``."""

    def previous_result(self, node_name: str) -> dict[str, Any] | None:
        """Return the result of the latest finished visit of ``node_name`` if it is a dict."""

    def admit(self, limits: tuple[Any, ...]) -> Wait | None:
        """Admit the path to its node under flow-control ``limits``; a ``Wait`` while it must queue."""

    def call_on_task_backend(self, node: Any) -> Outcome | None:
        """Run ``Execute(threaded=True)`` ``node``'s call on the task backend: the outcome so far.

        ``None`` when the project configures no task backend (the call then runs as before).
        """


@dataclass
class Proceed:
    """Leave the node: finish its task with ``message``/``result``, continue at ``targets``.

    A target of ``None`` means the node's successor (its ``.Next()`` or the next declared node).
    ``split=True`` starts a parallel path for each target.
    """

    targets: tuple[str | None, ...] = (None,)
    message: str = "OK"
    result: Any = None
    split: bool = False


#: What a waiting path waits for (``Wait.awaits``); the engine derives the instance's status from it.
PERSON, MESSAGE, TIME = "person", "message", "time"


@dataclass
class Wait:
    """Stay at the node: keep its task open until ``until`` (``None``: until woken by an event).

    ``handoff=True`` asks for the node to be run by the scheduler worker instead of here.
    ``result`` replaces the open task's result (e.g. a computed schedule) unless ``UNCHANGED``.
    ``awaits`` says what the path waits for: :data:`PERSON` (a form), :data:`MESSAGE` (a condition
    on the data, which a message may make true) or :data:`TIME`; empty: ``TIME`` if ``until`` is
    given, else ``MESSAGE``. ``deadline`` is when the node's ``.Deadline()`` expires (kept on the
    open task for task lists).
    """

    until: datetime | None = None
    handoff: bool = False
    result: Any = field(default=UNCHANGED)
    awaits: str = ""
    deadline: datetime | None = None

    def waits_for(self) -> str:
        """Return what the path waits for: :data:`PERSON`, :data:`MESSAGE` or :data:`TIME`."""
        return self.awaits or (TIME if self.until is not None else MESSAGE)


@dataclass
class Finish:
    """End the automation instance (an ``End`` node)."""

    message: str = "OK"


@dataclass
class JoinArrival:
    """A path arrived at a ``Join``: continue once every sibling path has arrived."""


@dataclass
class FanOut:
    """Start one path at ``target`` per item of ``items``, at most ``limit`` at once (``None``: all).

    The paths meet at the node's Join, which puts each path's result, in the items' order, into
    the data under ``into`` (``None``: nowhere). See :mod:`automations.engine.fanout`.
    """

    target: str
    items: list[Any]
    limit: int | None = None
    into: str | None = None


#: What ``Node.visit`` returns.
Outcome: TypeAlias = Proceed | Wait | Finish | JoinArrival | FanOut


@dataclass(frozen=True)
class PathItem:
    """The item a fan-out path runs for, and its position in the list (from 0)."""

    item: Any
    index: int


#: The item of the fan-out path whose node runs now (``Automation.item``); set by the engine's step.
current_path_item: ContextVar[PathItem | None] = ContextVar("current_path_item", default=None)
