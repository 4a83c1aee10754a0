"""What happens after a step commits: one explicit list of hooks that apps register.

The engine writes task rows in bulk (``bulk_create``, ``update``), which send no model signals,
and the library does not steer itself with its own signals. Whatever must follow a step (task lists
refreshed, diagrams moved) registers a hook here, usually in ``AppConfig.ready()``::

    from automations.engine import hooks

    def refresh_dashboards(report):
        if report.result.finished:
            ...

    hooks.register(refresh_dashboards)

Each hook is called with a :class:`StepReport` once the step's transaction has committed (not at
all if it rolls back), in the order of registration; a hook that raises is logged and the others
still run. The public signals ``automation_advanced`` and ``automation_finished`` are sent after
the hooks, for projects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from automations.models import AutomationTaskModel

from .registry import Registry
from .walk import StepResult


@dataclass(frozen=True)
class StepReport:
    """What one committed step did: the instance, its result, and the task rows it opened and closed."""

    automation: Any  # the flow.Automation object that was advanced
    result: StepResult
    opened: tuple[AutomationTaskModel, ...] = field(default_factory=tuple)  # task rows written open
    closed: tuple[AutomationTaskModel, ...] = field(default_factory=tuple)  # task rows the step finished


Hook = Callable[[StepReport], object]
_hooks: Registry[Hook] = Registry("After-step hook %s failed.")


def register(hook: Hook) -> Hook:
    """Call ``hook(report)`` after every committed step; return ``hook`` (usable as a decorator).

    Registering the same function twice registers it once.
    """
    return _hooks.register(hook)


def unregister(hook: Hook) -> None:
    """Stop calling ``hook``; a hook that is not registered is ignored."""
    _hooks.unregister(hook)


def registered() -> tuple[Hook, ...]:
    """Return the registered hooks, in the order they run."""
    return _hooks.registered()


def after_commit(report: StepReport, *then: Callable[[], object]) -> None:
    """Run the hooks with ``report``, then each of ``then``, once the current transaction commits."""
    transaction.on_commit(lambda: after_step(report, *then))


def after_step(report: StepReport, *then: Callable[[], object]) -> None:
    """Run the hooks with ``report``, then each of ``then`` (the step has committed)."""
    _hooks.call_each(report)
    for follow_up in then:
        follow_up()


def call_robustly(hook: Callable[..., object], *args: object) -> None:
    """Call ``hook(*args)``; an exception is logged, never raised into the engine's caller."""
    _hooks.call(hook, *args)
