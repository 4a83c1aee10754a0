"""Nodes that do work: ``Execute`` and ``SendMessage``."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self

from django.utils.functional import Promise

from automations.outcomes import Outcome, Proceed, Visit, Wait

from .declaration import AutomationDeclarationError
from .limits import Limited
from .nodes import Dynamic
from .references import NodeName, Reference, reference_name
from .retrying import Retrying, pending_retry, proceeded_after


class _NotGiven(enum.Enum):
    NOT_GIVEN = enum.auto()


_NOT_GIVEN = _NotGiven.NOT_GIVEN


class Execute(Limited, Retrying):
    """Run a callable, typically a method of the automation, with the task as first argument.

    ``Execute(func, threaded=False, *args, **kwargs)`` calls ``func(task_instance, *args, **kwargs)``:
    the second positional argument is ``threaded``, the callable's own arguments come after it
    (``Execute(this.add, False, 2, 3, factor=10)`` calls ``add(task, 2, 3, factor=10)``). A
    ``threaded`` that is not a bool is a declaration error. Without a callable (``Execute()``)
    the node does nothing.

    A JSON-serializable return value is stored as the task's ``result`` (anything else as its
    ``repr``). The call and its task row commit together; an exception rolls back the call's
    database work and changes to ``data``, is stored on the task and stops the instance unless
    ``.OnError(node)`` names a node to continue with. The task is not saved yet while the call runs
    (its ``pk`` is ``None``).

    Subclass it to make reusable nodes: implement ``method(self, task_instance, *args, **kwargs)``;
    all positional and keyword arguments of the node are then passed to ``method`` (``threaded`` and
    ``description`` only as keywords)::

        class SendEMail(flow.Execute):
            def method(self, task_instance, template):
                ...

        welcome = SendEMail("welcome.txt")

    ``threaded=True`` hands the call to the scheduler worker when one runs, so that a web request
    does not wait for it; without a worker it runs in place. When the project configures Django's
    task framework (``TASKS``), the call is enqueued on that task backend instead and the instance
    waits for its result (docs/long-steps.md).

    ``.Retry(attempts, backoff, on)`` tries a failing call again after a pause, each attempt in a
    step of its own; the instance waits for time in between (see :mod:`automations.flow.retrying`).

    ``.Concurrency(n, key=...)`` and ``.RateLimit(n, per=...)`` limit how many instances run the
    node at once and how often it starts (docs/long-steps.md).
    """

    def __init__(
        self,
        *args: Any,
        threaded: bool | _NotGiven = _NOT_GIVEN,
        description: str | Promise = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(description=description)
        self._func: Callable[..., Any] | NodeName | None
        if type(self).method is Execute.method:
            self._func, args = (args[0], args[1:]) if args else (None, ())
            if args and threaded is not _NOT_GIVEN:
                raise AutomationDeclarationError(
                    f"Execute({_shown(self._func)}, ...) got threaded twice: as its second argument "
                    f"({args[0]!r}) and as threaded={threaded!r}."
                )
            if args:
                threaded, args = args[0], args[1:]
        else:
            self._func = None
        threaded = False if threaded is _NOT_GIVEN else threaded
        if not isinstance(threaded, bool):
            raise AutomationDeclarationError(
                f"Execute({_shown(self._func)}, {threaded!r}, ...): threaded must be True or False, not "
                f"{threaded!r}. The signature is Execute(func, threaded=False, *args, **kwargs): pass the "
                f"callable's arguments after threaded, Execute(func, False, {threaded!r}, ...), or as "
                f"keyword arguments."
            )
        self._args = args
        self._kwargs = kwargs
        self.threaded = threaded
        self._on_error: NodeName | None = None

    def OnError(self, next_node: NodeName) -> Self:  # noqa: N802
        """Continue with ``next_node`` if the call raises, instead of stopping the instance."""
        self._on_error = next_node
        return self

    def references(self) -> Iterator[tuple[str, NodeName]]:
        yield from super().references()
        if self._on_error is not None:
            yield ".OnError()", self._on_error

    def code_references(self) -> Iterable[tuple[str, str]]:
        yield from super().code_references()
        if isinstance(self._func, Reference | str):
            yield "Execute()", reference_name(self._func)

    def successors(self) -> list[str]:
        names = super().successors()
        if self._on_error is not None:
            names.append(self.target_name(self._on_error))
        return names

    def method(self, task_instance: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the node's callable (none: do nothing); override this in subclasses instead."""
        if self._func is None:
            return None
        return self.resolve(self._func)(task_instance, *args, **kwargs)

    def call(self, task_instance: Any) -> Any:
        """Do the node's work for ``task_instance``: call :meth:`method` with the node's arguments."""
        return self.method(task_instance, *self._args, **self._kwargs)

    def _work_may_wait(self) -> bool:
        # A threaded call may wait for a task backend, a limit for its turn; a subclass's own
        # enter() may wait for anything.
        own_enter = type(self).enter is not Execute.enter
        return super()._work_may_wait() or self.threaded or bool(self.limits) or own_enter

    def enter(self, visit: Visit) -> Outcome:
        outcome = visit.call_on_task_backend(self) if self.threaded else None
        if outcome is None and self.threaded and not visit.run_threaded:
            return Wait(until=visit.now, handoff=True)
        if outcome is None:
            outcome = Proceed(result=self.call(visit.task))
        if isinstance(outcome, Proceed):
            return proceeded_after(pending_retry(visit.task), outcome)
        return outcome


class SendMessage(Retrying):
    """Send ``message`` to other automation instances.

    ``target`` is an instance id, an automation instance, an automation class (or its dotted path):
    a class broadcasts to all its running instances. ``target``, ``token`` and ``data`` may also be
    callables taking the task. The receiver is ``receive_<message>(token, data)`` on the target; the
    task's result is the list of the receivers' return values.
    """

    def __init__(
        self,
        target: object,
        message: str,
        token: Dynamic[str] | None = None,
        data: object = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._target, self._message, self._token, self._data = target, message, token, data

    def enter(self, visit: Visit) -> Outcome:
        target = self.resolve(self._target)
        if callable(target) and not isinstance(target, type):
            target = target(visit.task)
        token, data = self._value(self._token, visit.task), self._value(self._data, visit.task)
        outcome = Proceed(result=visit.automation._deliver_message(target, self._message, token, data))
        return proceeded_after(pending_retry(visit.task), outcome)

    def _value(self, value: object, task: Any) -> Any:
        """Return ``value``, resolved if it is a reference and called with ``task`` if callable."""
        if isinstance(value, Reference) or (isinstance(value, str) and value.startswith("self.")):
            value = self.resolve(value)
        return value(task) if callable(value) else value


def _shown(func: object) -> str:
    """Return how a declaration error names the callable ``func``."""
    if isinstance(func, Reference):
        return f"this.{reference_name(func)}"
    return func if isinstance(func, str) else getattr(func, "__name__", None) or repr(func)
