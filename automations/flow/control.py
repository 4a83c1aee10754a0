"""Nodes that steer paths: ``End``, ``If``, ``Split`` and ``Join``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self, TypeAlias, TypeGuard

from automations.outcomes import Finish, JoinArrival, Outcome, Proceed, Visit

from .nodes import Node
from .references import NodeName, Reference, reference_name

#: The message of an ``If``'s task: which branch the path took (the diagram lights that edge).
BRANCH_TAKEN = {True: "yes", False: "no"}

#: What ``If().Then()`` and ``.Else()`` take: a node to continue with, or a callable (or a reference
#: to a method) to run with the task; ``None``: continue with the next node.
Branch: TypeAlias = NodeName | Callable[[Any], object] | None


class End(Node):
    """End the automation: the instance is marked finished and cannot run again.

    Paths still open elsewhere in the instance are closed (their tasks get the message ``"ended"``).
    """

    def successors(self) -> list[str]:
        return []

    def runs_code(self) -> bool:
        return self._has_modifiers()

    def _work_may_wait(self) -> bool:
        return False

    def enter(self, visit: Visit) -> Outcome:
        return Finish()


class If(Node):
    """Branch on ``condition`` (a value or a callable taking the task).

    ``.Then()`` is required, ``.Else()`` optional; each takes a node reference (continue there) or
    a callable (run it like ``Execute``, then continue with the next node); without an argument
    they continue with the next node::

        check = flow.If(this.is_vip).Then(this.vip_welcome).Else(this.standard_welcome)

    Without ``.Else()`` a false condition continues with the next node. The task's message says
    which branch was taken: ``"yes"`` or ``"no"``.
    """

    def __init__(self, condition: object, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._condition = condition
        self._then: Branch = None
        self._has_then = False
        self._else: Branch = None

    def Then(self, parameter: Branch = None) -> Self:  # noqa: N802
        """Continue with (or run) ``parameter`` when the condition is truthy; none: the next node."""
        self._then = parameter
        self._has_then = True
        return self

    def Else(self, parameter: Branch = None) -> Self:  # noqa: N802
        """Continue with (or run) ``parameter`` when the condition is falsy; none: the next node."""
        self._else = parameter
        return self

    def references(self) -> Iterator[tuple[str, NodeName]]:
        yield from super().references()
        for label, value in ((".Then()", self._then), (".Else()", self._else)):
            if _is_reference(value) and self._branch_is_node(value):
                yield label, value

    def code_references(self) -> Iterable[tuple[str, str]]:
        for label, value in ((".Then()", self._then), (".Else()", self._else)):
            if _is_reference(value) and not self._branch_is_node(value):
                yield label, reference_name(value)

    def _branch_is_node(self, value: Branch) -> bool:
        name = reference_name(value)
        return name is not None and name in self._declaring_class()._nodes

    def successors(self) -> list[str]:
        names = []
        for value in (self._then, self._else):
            if _is_reference(value) and self._branch_is_node(value):
                names.append(reference_name(value))
            elif self._successor:
                names.append(self._successor)
        return names

    def _work_may_wait(self) -> bool:
        return False

    def enter(self, visit: Visit) -> Outcome:
        answer = bool(self.evaluate(self._condition, visit.task))
        branch, message = self._then if answer else self._else, BRANCH_TAKEN[answer]
        if branch is None:
            return Proceed(message=message)
        if _is_reference(branch):
            if self._branch_is_node(branch):
                return Proceed(targets=(reference_name(branch),), message=message)
            branch = getattr(self._automation, reference_name(branch))
        return Proceed(result=self.resolve(branch)(visit.task), message=message)


def _is_reference(value: object) -> TypeGuard[NodeName]:
    return isinstance(value, Reference | str)


class Split(Node):
    """Start parallel paths, one per ``.Next()``; they must meet again at one ``Join``::

        fan_out = flow.Split().Next(this.notify_sales).Next(this.notify_support)
    """

    #: The ``Join`` where the paths of this split meet (set when the class is declared).
    matching_join: str | None = None
    #: The modifier that declares a path (named by the check of a split without paths).
    path_modifier = ".Next(node)"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._paths: list[NodeName] = []

    def Next(self, node: NodeName) -> Self:  # noqa: N802
        """Add a parallel path starting at ``node``."""
        self._paths = [*self._paths, node]
        return self

    def references(self) -> Iterator[tuple[str, NodeName]]:
        for value in self._paths:
            yield ".Next()", value

    def successors(self) -> list[str]:
        return [reference_name(value) for value in self._paths]

    def runs_code(self) -> bool:
        return self._has_modifiers()

    def _work_may_wait(self) -> bool:
        return False  # its paths wait elsewhere

    def enter(self, visit: Visit) -> Outcome:
        return Proceed(targets=tuple(reference_name(value) for value in self._paths), split=True)


class Join(Node):
    """Wait until every path started by the matching ``Split`` has arrived, then continue as one.

    A path that ends without reaching the ``Join`` (it ran past the last node) is not waited for.
    """

    def runs_code(self) -> bool:
        return self._has_modifiers()

    def _work_may_wait(self) -> bool:
        return False  # arrived paths wait for their siblings, but not as a wait of this node

    def enter(self, visit: Visit) -> Outcome:
        return JoinArrival()
