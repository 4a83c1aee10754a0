"""Errors in one line, for lists: "ConnectionError: card service unreachable".

A failed node records its exception's class path, ``repr`` and formatted traceback on its task row
(see :mod:`automations.engine.walk`); an instance an error stopped keeps "Class.node: repr(exc)" in
its ``error``. A person reading a list needs neither: the exception's class name and its message on
one line tell them what went wrong, and the traceback page has the rest.
"""

from __future__ import annotations

import ast
import re

from django.utils.text import Truncator

from automations.models import AutomationTaskModel

#: Characters of a summary, the ellipsis included.
SUMMARY_LENGTH = 120

# "Name(...)" as repr() writes an exception; "Class.node: " before it in an instance's error.
_REPR = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)\((?P<args>.*)\)$", re.DOTALL)
_STOPPED_AT = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*: ")
# Where format_exception writes a class by its name only.
_PLAIN_MODULES = ("builtins.", "__main__.")


def summarize(exception: str, message: str = "", limit: int = SUMMARY_LENGTH) -> str:
    """Return ``"Name: message"``: the class name of ``exception`` (a dotted path or a name) and
    the first line of ``message`` that is not blank, at most ``limit`` characters."""
    name = exception.rsplit(".", 1)[-1].strip()
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    text = f"{name}: {first}" if name and first else name or first
    return Truncator(text).chars(limit)


def traceback_message(traceback: str, exception: str) -> str | None:
    """Return what the last line of ``traceback`` that names ``exception`` says after the name
    (``str()`` of the exception), or ``None`` if no line names it."""
    heads = {
        exception,
        *(exception[len(prefix) :] for prefix in _PLAIN_MODULES if exception.startswith(prefix)),
    }
    for line in reversed(traceback.splitlines()):
        head, separator, rest = line.partition(": ")
        if head in heads and separator:
            return rest
        if line.strip() in heads:
            return ""
    return None


def repr_parts(text: str) -> tuple[str, str]:
    """Return ``(name, message)`` from an exception's ``repr``: ``ConnectionError('unreachable')``
    gives ``("ConnectionError", "unreachable")``. Text that is no such ``repr`` is the message."""
    match = _REPR.match(text.strip())
    if match is None:
        return "", text
    try:
        arguments = ast.literal_eval(f"({match['args']},)") if match["args"].strip() else ()
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return match["name"], match["args"]
    return match["name"], ", ".join(str(argument) for argument in arguments)


def failure_summary(task: AutomationTaskModel, limit: int = SUMMARY_LENGTH) -> str:
    """Return the one-line summary of the failure ``task`` (a failed task row) recorded."""
    result = task.result if isinstance(task.result, dict) else {}
    exception = str(result.get("exception") or "")
    message = traceback_message(str(result.get("traceback") or ""), exception) if exception else None
    if not message:  # no line names the exception, or nothing follows its name: ask the repr
        name, said = repr_parts(task.message or "")
        exception, message = exception or name, said if said or message is None else message
    return summarize(exception, message, limit)


def error_summary(error: str, failure: AutomationTaskModel | None = None, limit: int = SUMMARY_LENGTH) -> str:
    """Return the one-line summary of an instance's ``error``; ``""`` if it has none.

    ``failure`` is the failed task that stopped the instance, if there is one: its record is read
    first. Without one, the "Class.node: " before the ``repr`` is left out.
    """
    if not error:
        return ""
    if failure is not None:
        return failure_summary(failure, limit)
    name, message = repr_parts(_STOPPED_AT.sub("", error, count=1))
    return summarize(name, message, limit)


def latest_failures(automation_ids) -> dict[int, AutomationTaskModel]:
    """Return the latest failed task of each of the instances ``automation_ids``, by instance id."""
    failed = (
        AutomationTaskModel.objects.filter(
            automation_id__in=list(automation_ids), result__has_key="traceback"
        )
        .filter(result__has_key="exception")
        .only("pk", "automation_id", "status", "message", "result")
        .order_by("pk")
    )
    return {task.automation_id: task for task in failed}
