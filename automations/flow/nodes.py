"""The node base class and the modifiers every node shares."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, Self, TypeAlias, TypeVar

from django.utils import timezone
from django.utils.functional import Promise

from automations import settings as atm_settings
from automations.outcomes import MESSAGE, HoldVisit, Outcome, Proceed, Visit, Wait

from .deadlines import EXPIRED, Deadline, deadline_of, expires
from .references import NodeName, Reference, reference_name

_T = TypeVar("_T")

#: What a node or modifier takes where a value may depend on the instance: the value itself, a
#: callable taking the task, or a reference to a method (``this.name``, ``"self.name"``).
Dynamic: TypeAlias = _T | Callable[[Any], _T] | Reference | str


class Declaring(Protocol):
    """What a node knows of the automation class that declares it (a ``flow.Automation`` subclass)."""

    _nodes: ClassVar[dict[str, Node]]
    _node_names: ClassVar[tuple[str, ...]]


class Node:
    """Base class for all nodes of an automation.

    A node is declared as a class attribute of an :class:`~automations.flow.Automation`. The
    declaration is never changed while automations run: each automation instance gets its own
    bound copy (see :meth:`ready`). Modifiers return the node itself, so they chain::

        wait = flow.Execute(this.remind).AsSoonAs(this.is_ready).Next(this.end)

    Only the ``description`` keyword is used by ``Node`` itself.
    """

    opens_form_tasks = False  # True for Form nodes: their open tasks are in task lists

    def __init__(self, *args: Any, description: str | Promise = "", **kwargs: Any) -> None:
        self.description = description
        self._name: str | None = None
        self._owner: type[Declaring] | None = None
        self._automation: Any = None  # the flow.Automation object a bound copy belongs to
        self._next: NodeName | None = None
        self._successor: str | None = None
        self._wait_condition: object = None
        self._wait_until: Dynamic[datetime] | None = None
        self._wait_for: Dynamic[timedelta] | None = None
        self._skip_if: object = None
        self._skip_after: Dynamic[timedelta] | None = None
        self._deadline: Deadline | None = None

    # -- declaration ------------------------------------------------------------------------

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, instance: object, owner: type | None = None) -> Self:
        if instance is None:
            return self
        bound = self.ready(instance)
        if self._name is not None:  # the instance keeps its bound copy
            instance.__dict__[self._name] = bound
        return bound

    def __repr__(self) -> str:
        owner = self._owner.__name__ if self._owner else "?"
        return f"<{type(self).__name__} {owner}.{self._name}>"

    def _declare(self, owner: type[Declaring], name: str) -> Self:
        """Return this node's declaration copy for the automation class ``owner``."""
        node = copy.copy(self)
        node._owner, node._name = owner, name
        return node

    def _declaring_class(self) -> type[Declaring]:
        """Return the automation class that declares this node; raise ``TypeError`` if there is none."""
        if self._owner is None:
            raise TypeError(f"{self!r} is not declared in an automation class yet.")
        return self._owner

    def _declared_name(self) -> str:
        """Return the node's name in its automation class; raise ``TypeError`` if it has none yet."""
        if self._name is None:
            raise TypeError(f"{self!r} is not declared in an automation class yet.")
        return self._name

    def references(self) -> Iterator[tuple[str, NodeName]]:
        """Yield ``(modifier, reference)`` for every node this node may continue with."""
        if self._next is not None:
            yield ".Next()", self._next
        if self._deadline is not None and self._deadline.then is not None:
            yield ".Deadline()", self._deadline.then

    def code_references(self) -> Iterable[tuple[str, str]]:
        """Yield ``(modifier, name)`` for references that must name a node or method of the class."""
        return ()

    def successors(self) -> list[str]:
        """Return the names of the nodes a path may continue with from here (for validation)."""
        names = [self._successor] if self._successor else []
        if self._deadline is not None and self._deadline.then is not None:
            names.append(self.target_name(self._deadline.then))
        return names

    def runs_code(self) -> bool:
        """Return whether visiting this node may run project code.

        The engine runs such visits in a savepoint, so that a failing node leaves no database
        effects behind. Nodes that only steer paths return ``False`` unless a modifier is set.
        """
        return True

    def may_wait(self) -> bool:
        """Return whether a path may wait at this node, so that a ``.Deadline()`` can pass there.

        A node whose own work may wait (a form, a sub-automation) may; the others only with
        ``AsSoonAs``, ``AfterWaitingFor`` or ``AfterWaitingUntil``.
        """
        waiting = (self._wait_condition, self._wait_until, self._wait_for)
        return self._work_may_wait() or any(value is not None for value in waiting)

    def _work_may_wait(self) -> bool:
        return True

    def _has_modifiers(self) -> bool:
        modifiers = (self._wait_condition, self._wait_until, self._wait_for, self._skip_if, self._skip_after,
                     self._deadline)  # fmt: skip
        return any(value is not None for value in modifiers)

    # -- modifiers --------------------------------------------------------------------------

    def Next(self, node: NodeName) -> Self:  # noqa: N802 - the documented modifier name
        """Continue with ``node`` (a node name, ``"self.name"`` or ``this.name``) after this node."""
        self._next = node
        return self

    def AsSoonAs(self, condition: object) -> Self:  # noqa: N802
        """Wait until ``condition`` (a value or a callable taking the task) is truthy."""
        self._wait_condition = condition
        return self

    def AfterWaitingUntil(self, moment: Dynamic[datetime]) -> Self:  # noqa: N802
        """Do not run this node before ``moment`` (a datetime or a callable taking the task)."""
        self._wait_until = moment
        return self

    def AfterWaitingFor(self, duration: Dynamic[timedelta]) -> Self:  # noqa: N802
        """Wait ``duration`` (a timedelta or callable) after the node was reached before running it."""
        self._wait_for = duration
        return self

    AfterPausingFor = AfterWaitingFor

    def SkipIf(self, condition: object) -> Self:  # noqa: N802
        """Skip this node (task message ``"skipped"``) if ``condition`` is truthy."""
        self._skip_if = condition
        return self

    def SkipAfter(self, duration: Dynamic[timedelta]) -> Self:  # noqa: N802
        """Skip this node once ``duration`` has passed since it was reached, e.g. an unanswered form."""
        self._skip_after = duration
        return self

    def Deadline(  # noqa: N802
        self,
        duration: Dynamic[timedelta] | None = None,
        *,
        then: NodeName | None = None,
        weeks: float = 0,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> Self:
        """Leave this node for ``then`` once ``duration`` has passed since it was reached.

        For nodes that wait: a form nobody filled in, an ``AsSoonAs`` condition, a time (on a
        ``Join`` or a node that never waits it is a declaration error, ``automations.E006``). The
        duration is a ``timedelta``, a callable taking the task, or given as ``days=2``,
        ``hours=4``, ... The task is finished with the message ``"deadline passed"`` and the
        path continues at ``then`` (default: the node's successor). The deadline is stored on the
        open task (``task.deadline``); task lists show it and put the soonest first.
        """
        self._deadline = deadline_of(type(self).__name__, duration, then, weeks=weeks, days=days, hours=hours,
                                     minutes=minutes, seconds=seconds)  # fmt: skip
        return self

    # -- binding and resolution -------------------------------------------------------------

    def ready(self, automation_instance: Any) -> Self:
        """Return a copy of this node bound to ``automation_instance`` (a ``flow.Automation`` object)."""
        bound = object.__new__(type(self))  # copy.copy() without its generic protocol, twice as fast
        bound.__dict__.update(self.__dict__)
        bound._automation = automation_instance
        return bound

    def get_automation_name(self) -> str:
        """Return the dotted name of the automation class this node belongs to."""
        owner = self._declaring_class()
        return f"{owner.__module__}.{owner.__qualname__}"

    @property
    def name(self) -> str | None:
        """The node's attribute name in its automation."""
        return self._name

    @property
    def data(self) -> dict[str, Any]:
        """The JSON data of the bound automation instance (call ``save()`` after changing it)."""
        if self._automation is None:
            raise AttributeError(f"{self!r} is a declaration: only the nodes of an instance have data.")
        return self._automation.data

    def resolve(self, value: object) -> Any:
        """Return what ``value`` refers to on the bound automation (or its class), else ``value``.

        ``this.name`` and ``"self.name"`` refer to the attribute ``name``; so does a plain string
        ``"name"`` if the automation has such an attribute (other strings are values).
        """
        holder = self._automation if self._automation is not None else self._owner
        if isinstance(value, Reference) or (isinstance(value, str) and value.startswith("self.")):
            return getattr(holder, reference_name(value))
        if isinstance(value, str) and value.isidentifier() and holder is not None and hasattr(holder, value):
            return getattr(holder, value)
        if inspect.isfunction(value) and holder is not None:
            name = value.__name__
            declared = getattr(self._owner, name, None)
            if declared is value or getattr(declared, "__func__", None) is value:
                return getattr(holder, name)
        return value

    def evaluate(self, value: object, task: Any) -> Any:
        """Resolve ``value``; call it with ``task`` if it is callable, and return the result."""
        value = self.resolve(value)
        return value(task) if callable(value) else value

    def target_name(self, value: NodeName) -> str:
        """Return the node name a ``.Next()``-style reference points to."""
        return reference_name(value)

    # -- running ----------------------------------------------------------------------------

    def visit(self, visit: Visit) -> Outcome:
        """Decide what happens to a path at this node: skip, wait, or :meth:`enter`."""
        held = self.hold(visit)
        outcome = held if held is not None else (self.admit(visit) or self.enter(visit))
        if isinstance(outcome, Wait):
            self.bound_wait(outcome, visit.task)
        return outcome

    def bound_wait(self, wait: Wait, task: Any) -> Wait:
        """Return ``wait`` ending no later than the node's ``SkipAfter`` and ``Deadline`` (noted on it)."""
        if self._skip_after is not None:
            wait.until = _earliest(wait.until, self._skip_deadline(task))
        expiry = self.deadline_moment(task)
        if expiry is not None:
            wait.until, wait.deadline = _earliest(wait.until, expiry), expiry
        return wait

    def hold(self, visit: HoldVisit) -> Proceed | Wait | None:
        """Return what the modifiers decide (skip it, or wait), or ``None`` if the node may be entered.

        Only conditions and times are evaluated here, never the node's work, so the engine may ask
        this to re-check a waiting path cheaply.
        """
        task, now = visit.task, visit.now
        if self._skip_if is not None and self.evaluate(self._skip_if, task):
            return Proceed(message="skipped")
        skip = self._skip_deadline(task) if self._skip_after is not None else None
        if skip is not None and now >= skip:
            return Proceed(message="skipped")
        expiry = self.deadline_moment(task)
        if expiry is not None and now >= expiry:
            then = self._deadline.then if self._deadline is not None else None
            return Proceed(targets=(None if then is None else self.target_name(then),), message=EXPIRED)
        deadline = _earliest(skip, expiry)
        until = self._waiting_until(task)
        if until is not None and now < until:
            return Wait(until=_earliest(until, deadline))
        if self._wait_condition is not None and not self.evaluate(self._wait_condition, task):
            recheck = now + atm_settings.condition_recheck_interval()
            return Wait(until=_earliest(recheck, deadline), awaits=MESSAGE)
        return None

    def _skip_deadline(self, task: Any) -> datetime:
        return task.created + self.evaluate(self._skip_after, task)

    def deadline_moment(self, task: Any) -> datetime | None:
        """Return when the node's ``.Deadline()`` expires for ``task``, or ``None`` if it has none."""
        if self._deadline is None:
            return None
        return expires(task, self.evaluate(self._deadline.duration, task))

    def _waiting_until(self, task: Any) -> datetime | None:
        moments: list[datetime] = []
        if self._wait_until is not None:
            moments.append(aware(self.evaluate(self._wait_until, task)))
        if self._wait_for is not None:
            moments.append(task.created + self.evaluate(self._wait_for, task))
        return max(moments) if moments else None

    def admit(self, visit: Visit) -> Wait | None:
        """Return a ``Wait`` while flow control keeps the path out of this node, else ``None``."""
        return None

    def enter(self, visit: Visit) -> Outcome:
        """Do this node's work once no modifier holds the path back; return an outcome."""
        return Proceed()


def aware(moment: datetime) -> datetime:
    """Return ``moment`` made timezone-aware in the current time zone if it is naive."""
    if isinstance(moment, datetime) and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None
