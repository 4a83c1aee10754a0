"""Nodes that do work: ``Execute`` and ``SendMessage``."""

from __future__ import annotations

from automations.outcomes import Proceed, Wait

from .nodes import Node
from .references import Reference, reference_name


class Execute(Node):
    """Run a callable, typically a method of the automation, with the task as first argument.

    ``Execute(func, *args, threaded=False, **kwargs)`` calls ``func(task_instance, *args, **kwargs)``;
    a JSON-serializable return value is stored as the task's ``result`` (anything else as its
    ``repr``). The call and its task row commit together; an exception rolls back the call's
    database work and changes to ``data``, is stored on the task and stops the instance unless
    ``.OnError(node)`` names a node to continue with. The task is not saved yet while the call runs
    (its ``pk`` is ``None``).

    Subclass it to make reusable nodes: implement ``method(self, task_instance, *args, **kwargs)``;
    all positional arguments are then passed to ``method``::

        class SendEMail(flow.Execute):
            def method(self, task_instance, template):
                ...

        welcome = SendEMail("welcome.txt")

    ``threaded=True`` hands the call to the scheduler worker when one runs, so that a web request
    does not wait for it; without a worker it runs in place.
    """

    def __init__(self, *args, threaded: bool = False, description: str = "", **kwargs):
        super().__init__(description=description)
        if type(self).method is Execute.method:
            if not args:
                raise TypeError("Execute() needs the callable to run as its first argument.")
            self._func, args = args[0], args[1:]
        else:
            self._func = None
        self._args = args
        self._kwargs = kwargs
        self.threaded = threaded
        self._on_error = None

    def OnError(self, next_node):  # noqa: N802
        """Continue with ``next_node`` if the call raises, instead of stopping the instance."""
        self._on_error = next_node
        return self

    def references(self):
        yield from super().references()
        if self._on_error is not None:
            yield ".OnError()", self._on_error

    def code_references(self):
        if isinstance(self._func, Reference | str):
            yield "Execute()", reference_name(self._func)

    def successors(self):
        names = super().successors()
        if self._on_error is not None:
            names.append(self.target_name(self._on_error))
        return names

    def method(self, task_instance, *args, **kwargs):
        """Call the node's callable; override this in subclasses instead of passing one."""
        return self.resolve(self._func)(task_instance, *args, **kwargs)

    def enter(self, visit):
        if self.threaded and not visit.run_threaded:
            return Wait(until=visit.now, handoff=True)
        return Proceed(result=self.method(visit.task, *self._args, **self._kwargs))


class SendMessage(Node):
    """Send ``message`` to other automation instances.

    ``target`` is an instance id, an automation instance, an automation class (or its dotted path):
    a class broadcasts to all its running instances. ``target``, ``token`` and ``data`` may also be
    callables taking the task. The receiver is ``receive_<message>(token, data)`` on the target; the
    task's result is the list of the receivers' return values.
    """

    def __init__(self, target, message: str, token: str | None = None, data=None, **kwargs):
        super().__init__(**kwargs)
        self._target, self._message, self._token, self._data = target, message, token, data

    def enter(self, visit):
        from .messages import deliver

        target = self.resolve(self._target)
        if callable(target) and not isinstance(target, type):
            target = target(visit.task)
        token, data = self._value(self._token, visit.task), self._value(self._data, visit.task)
        return Proceed(result=deliver(target, self._message, token, data))

    def _value(self, value, task):
        """Return ``value``, resolved if it is a reference and called with ``task`` if callable."""
        if isinstance(value, Reference) or (isinstance(value, str) and value.startswith("self.")):
            value = self.resolve(value)
        return value(task) if callable(value) else value
