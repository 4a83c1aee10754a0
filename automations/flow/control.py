"""Nodes that steer paths: ``End``, ``If``, ``Split`` and ``Join``."""

from __future__ import annotations

from automations.outcomes import Finish, JoinArrival, Proceed

from .nodes import Node
from .references import Reference, reference_name


class End(Node):
    """End the automation: the instance is marked finished and cannot run again.

    Paths still open elsewhere in the instance are closed (their tasks get the message ``"ended"``).
    """

    def successors(self):
        return []

    def runs_code(self):
        return self._has_modifiers()

    def enter(self, visit):
        return Finish()


class If(Node):
    """Branch on ``condition`` (a value or a callable taking the task).

    ``.Then()`` is required, ``.Else()`` optional; each takes a node reference (continue there) or
    a callable (run it like ``Execute``, then continue with the next node); without an argument
    they continue with the next node::

        check = flow.If(this.is_vip).Then(this.vip_welcome).Else(this.standard_welcome)

    Without ``.Else()`` a false condition continues with the next node.
    """

    def __init__(self, condition, **kwargs):
        super().__init__(**kwargs)
        self._condition = condition
        self._then = None
        self._has_then = False
        self._else = None

    def Then(self, parameter=None):  # noqa: N802
        """Continue with (or run) ``parameter`` when the condition is truthy; none: the next node."""
        self._then = parameter
        self._has_then = True
        return self

    def Else(self, parameter=None):  # noqa: N802
        """Continue with (or run) ``parameter`` when the condition is falsy; none: the next node."""
        self._else = parameter
        return self

    def references(self):
        yield from super().references()
        for label, value in ((".Then()", self._then), (".Else()", self._else)):
            if self._branch_is_node(value):
                yield label, value

    def code_references(self):
        for label, value in ((".Then()", self._then), (".Else()", self._else)):
            if _is_reference(value) and not self._branch_is_node(value):
                yield label, reference_name(value)

    def _branch_is_node(self, value) -> bool:
        name = reference_name(value)
        return name is not None and name in self._owner._nodes

    def successors(self):
        names = []
        for value in (self._then, self._else):
            if self._branch_is_node(value):
                names.append(reference_name(value))
            elif self._successor:
                names.append(self._successor)
        return names

    def enter(self, visit):
        branch = self._then if self.evaluate(self._condition, visit.task) else self._else
        if branch is None:
            return Proceed()
        if self._branch_is_node(branch):
            return Proceed(targets=(reference_name(branch),))
        if _is_reference(branch):
            branch = getattr(self._automation, reference_name(branch))
        return Proceed(result=self.resolve(branch)(visit.task))


def _is_reference(value) -> bool:
    return isinstance(value, Reference | str)


class Split(Node):
    """Start parallel paths, one per ``.Next()``; they must meet again at one ``Join``::

        fan_out = flow.Split().Next(this.notify_sales).Next(this.notify_support)
    """

    #: The ``Join`` where the paths of this split meet (set when the class is declared).
    matching_join: str | None = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._paths = []

    def Next(self, node):  # noqa: N802
        """Add a parallel path starting at ``node``."""
        self._paths = [*self._paths, node]
        return self

    def references(self):
        for value in self._paths:
            yield ".Next()", value

    def successors(self):
        return [reference_name(value) for value in self._paths]

    def runs_code(self):
        return self._has_modifiers()

    def enter(self, visit):
        return Proceed(targets=tuple(reference_name(value) for value in self._paths), split=True)


class Join(Node):
    """Wait until every path started by the matching ``Split`` has arrived, then continue as one.

    A path that ends without reaching the ``Join`` (it ran past the last node) is not waited for.
    """

    def runs_code(self):
        return self._has_modifiers()

    def enter(self, visit):
        return JoinArrival()
