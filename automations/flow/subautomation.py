"""``SubAutomation``: start another automation with data, wait until it finishes, take its result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

from automations.exceptions import AutomationsError
from automations.outcomes import MESSAGE, Outcome, Proceed, Visit, Wait

from .nodes import Node
from .references import NodeName


class SubAutomationFailed(AutomationsError, RuntimeError):
    """The child instance of a ``SubAutomation`` node failed, was cancelled, or is gone."""


class SubAutomation(Node):
    """Start an instance of ``automation`` (a class or its dotted path) as a child and wait for it::

        pay = flow.SubAutomation("shop.automations.Payment", data=this.payment_data).Into("payment")

    ``data`` is a dict, or a callable (or ``this.method``) that takes the task and returns one: the
    child's start parameters. The parent waits, holding no thread and no timer, until the child
    stops or is deleted: either wakes it. When the child has finished, its data (or the keys named
    by ``.Taking()``) become this node's result and, with ``.Into(key)``, ``data[key]`` of the
    parent. A child that fails, is cancelled or is gone makes this node fail with
    :class:`SubAutomationFailed`: the node's ``.OnError()`` route is taken, or the parent stops as
    ``failed``. Cancelling the parent cancels its children.
    """

    def __init__(self, automation: type | str, data: object = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._child_class = automation
        self._child_data = data
        self._into: str | None = None
        self._taking: tuple[str, ...] = ()
        self._on_error: NodeName | None = None

    def Into(self, key: str) -> Self:  # noqa: N802
        """Put the child's result into the parent's ``data[key]`` when the child has finished."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"SubAutomation().Into({key!r}): give the data key as a non-empty string.")
        self._into = key
        return self

    def Taking(self, *keys: str) -> Self:  # noqa: N802
        """Take only these keys of the child's data as the result (missing ones are ``None``)."""
        if not keys or not all(isinstance(key, str) and key for key in keys):
            raise ValueError("SubAutomation().Taking(): name one or more data keys of the child.")
        self._taking = keys
        return self

    def OnError(self, node: NodeName) -> Self:  # noqa: N802
        """Continue at ``node`` if the child fails, is cancelled or is gone (else the parent fails)."""
        self._on_error = node
        return self

    def references(self) -> Iterator[tuple[str, NodeName]]:
        yield from super().references()
        if self._on_error is not None:
            yield ".OnError()", self._on_error

    def successors(self) -> list[str]:
        names = super().successors()
        if self._on_error is not None:
            names.append(self.target_name(self._on_error))
        return names

    def runs_code(self) -> bool:
        return True  # it starts an instance (database rows) and may run code for the data

    @property
    def child_class_name(self) -> str:
        """The dotted path of the child class (for diagrams and pages)."""
        value = self._child_class
        return value if isinstance(value, str) else f"{value.__module__}.{value.__qualname__}"

    def enter(self, visit: Visit) -> Outcome:
        automation, task = visit.automation, visit.task
        started = task.result if isinstance(task.result, dict) and "child" in task.result else None
        if started is None:
            data = self.evaluate(self._child_data, task) if self._child_data is not None else {}
            if not isinstance(data, dict):
                kind = type(data).__name__
                raise TypeError(f"{self._where()}: the data of SubAutomation() must be a dict, not {kind}.")
            started = {"child": automation._start_child(self._child_class, data)}
        state = automation._child_state(started["child"])
        if state.finished:
            result = self._result_of(state.data)
            if self._into is not None:
                automation.data[self._into] = result
            return Proceed(message=f"#{state.automation_id} finished", result=result)
        if state.stopped:
            raise SubAutomationFailed(f"{self._where()}: {state.failure()}")
        return Wait(result=started, awaits=MESSAGE)

    def _result_of(self, data: dict[str, Any]) -> Any:
        if not self._taking:
            return data
        return {key: data.get(key) for key in self._taking}

    def _where(self) -> str:
        return f"{self._declaring_class().__name__}.{self._declared_name()}"
