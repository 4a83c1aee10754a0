"""The node base class and the modifiers every node shares."""

from __future__ import annotations

import copy
import inspect
from datetime import datetime
from typing import Any

from django.utils import timezone

from automations import settings as atm_settings
from automations.outcomes import Proceed, Wait

from .references import Reference, reference_name


class Node:
    """Base class for all nodes of an automation.

    A node is declared as a class attribute of an :class:`~automations.flow.Automation`. The
    declaration is never changed while automations run: each automation instance gets its own
    bound copy (see :meth:`ready`). Modifiers return the node itself, so they chain::

        wait = flow.Execute(this.remind).AsSoonAs(this.is_ready).Next(this.end)

    Only the ``description`` keyword is used by ``Node`` itself.
    """

    opens_form_tasks = False  # True for Form nodes: their open tasks are in task lists

    def __init__(self, *args, description: str = "", **kwargs):
        self.description = description
        self._name: str | None = None
        self._owner: type | None = None
        self._automation = None
        self._next = None
        self._successor: str | None = None
        self._wait_condition = None
        self._wait_until = None
        self._wait_for = None
        self._skip_if = None
        self._skip_after = None

    # -- declaration ------------------------------------------------------------------------

    def __set_name__(self, owner, name):
        self._name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        bound = self.ready(instance)
        instance.__dict__[self._name] = bound
        return bound

    def __repr__(self):
        owner = self._owner.__name__ if self._owner else "?"
        return f"<{type(self).__name__} {owner}.{self._name}>"

    def _declare(self, owner: type, name: str) -> Node:
        """Return this node's declaration copy for the automation class ``owner``."""
        node = copy.copy(self)
        node._owner, node._name = owner, name
        return node

    def references(self):
        """Yield ``(modifier, reference)`` for every node this node may continue with."""
        if self._next is not None:
            yield ".Next()", self._next

    def code_references(self):
        """Yield ``(modifier, name)`` for references that must name a node or method of the class."""
        return ()

    def successors(self) -> list[str]:
        """Return the names of the nodes a path may continue with from here (for validation)."""
        return [self._successor] if self._successor else []

    def runs_code(self) -> bool:
        """Return whether visiting this node may run project code.

        The engine runs such visits in a savepoint, so that a failing node leaves no database
        effects behind. Nodes that only steer paths return ``False`` unless a modifier is set.
        """
        return True

    def _has_modifiers(self) -> bool:
        modifiers = (self._wait_condition, self._wait_until, self._wait_for, self._skip_if, self._skip_after)
        return any(value is not None for value in modifiers)

    # -- modifiers --------------------------------------------------------------------------

    def Next(self, node):  # noqa: N802 - the documented modifier name
        """Continue with ``node`` (a node name, ``"self.name"`` or ``this.name``) after this node."""
        self._next = node
        return self

    def AsSoonAs(self, condition):  # noqa: N802
        """Wait until ``condition`` (a value or a callable taking the task) is truthy."""
        self._wait_condition = condition
        return self

    def AfterWaitingUntil(self, moment):  # noqa: N802
        """Do not run this node before ``moment`` (a datetime or a callable taking the task)."""
        self._wait_until = moment
        return self

    def AfterWaitingFor(self, duration):  # noqa: N802
        """Wait ``duration`` (a timedelta or callable) after the node was reached before running it."""
        self._wait_for = duration
        return self

    AfterPausingFor = AfterWaitingFor

    def SkipIf(self, condition):  # noqa: N802
        """Skip this node (task message ``"skipped"``) if ``condition`` is truthy."""
        self._skip_if = condition
        return self

    def SkipAfter(self, duration):  # noqa: N802
        """Skip this node once ``duration`` has passed since it was reached, e.g. an unanswered form."""
        self._skip_after = duration
        return self

    # -- binding and resolution -------------------------------------------------------------

    def ready(self, automation_instance) -> Node:
        """Return a copy of this node bound to ``automation_instance``."""
        bound = object.__new__(type(self))  # copy.copy() without its generic protocol, twice as fast
        bound.__dict__.update(self.__dict__)
        bound._automation = automation_instance
        return bound

    def get_automation_name(self) -> str:
        """Return the dotted name of the automation class this node belongs to."""
        return f"{self._owner.__module__}.{self._owner.__qualname__}"

    @property
    def name(self) -> str | None:
        """The node's attribute name in its automation."""
        return self._name

    @property
    def data(self) -> dict:
        """The JSON data of the bound automation instance (call ``save()`` after changing it)."""
        return self._automation.data

    def resolve(self, value):
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
            declared = getattr(self._owner, value.__name__, None)
            if declared is value or getattr(declared, "__func__", None) is value:
                return getattr(holder, value.__name__)
        return value

    def evaluate(self, value, task) -> Any:
        """Resolve ``value``; call it with ``task`` if it is callable, and return the result."""
        value = self.resolve(value)
        return value(task) if callable(value) else value

    def target_name(self, value) -> str:
        """Return the node name a ``.Next()``-style reference points to."""
        return reference_name(value)

    # -- running ----------------------------------------------------------------------------

    def visit(self, visit):
        """Decide what happens to a path at this node: skip, wait, or :meth:`enter`."""
        outcome = self.hold(visit)
        if outcome is not None:
            return outcome
        outcome = self.enter(visit)
        if isinstance(outcome, Wait) and self._skip_after is not None:
            outcome.until = _earliest(outcome.until, self._skip_deadline(visit.task))
        return outcome

    def hold(self, visit):
        """Return what the modifiers decide (skip it, or wait), or ``None`` if the node may be entered.

        Only conditions and times are evaluated here, never the node's work, so the engine may ask
        this to re-check a waiting path cheaply.
        """
        task, now = visit.task, visit.now
        if self._skip_if is not None and self.evaluate(self._skip_if, task):
            return Proceed(message="skipped")
        deadline = self._skip_deadline(task) if self._skip_after is not None else None
        if deadline is not None and now >= deadline:
            return Proceed(message="skipped")
        until = self._waiting_until(task)
        if until is not None and now < until:
            return Wait(until=_earliest(until, deadline))
        if self._wait_condition is not None and not self.evaluate(self._wait_condition, task):
            return Wait(until=_earliest(now + atm_settings.condition_recheck_interval(), deadline))
        return None

    def _skip_deadline(self, task) -> datetime:
        return task.created + self.evaluate(self._skip_after, task)

    def _waiting_until(self, task) -> datetime | None:
        moments = []
        if self._wait_until is not None:
            moments.append(aware(self.evaluate(self._wait_until, task)))
        if self._wait_for is not None:
            moments.append(task.created + self.evaluate(self._wait_for, task))
        return max(moments) if moments else None

    def enter(self, visit):
        """Do this node's work once no modifier holds the path back; return an outcome."""
        return Proceed()


def aware(moment: datetime) -> datetime:
    """Return ``moment`` made timezone-aware in the current time zone if it is naive."""
    if isinstance(moment, datetime) and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _earliest(*moments):
    moments = [m for m in moments if m is not None]
    return min(moments) if moments else None

