"""Which instances this thread is stepping: the engine enters them, everybody else may ask.

While the engine runs a step of an instance, messages sent to it reach the object being stepped,
its shared row object is not refreshed from older copies, and a wake-up from inside waits until
the step has committed.
"""

from __future__ import annotations

import threading

_state = threading.local()


def current_steps() -> dict:
    """Return ``{automation id: step or None}`` for the instances this thread is advancing."""
    if not hasattr(_state, "steps"):
        _state.steps = {}
    return _state.steps


def in_step(automation_id=None) -> bool:
    """Return whether this thread is inside a step (of ``automation_id``, if given)."""
    steps = current_steps()
    return bool(steps) if automation_id is None else automation_id in steps


def stepping_automation(automation_id):
    """Return the ``Automation`` object this thread is advancing as ``automation_id``, or ``None``."""
    step = current_steps().get(automation_id)
    return step.automation if step is not None else None


class stepping:  # noqa: N801 - used as a function: with stepping(automation_id)
    """Mark ``automation_id`` as stepped by this thread while inside (a class: once per step, it
    costs a third of a generator-based context manager)."""

    __slots__ = ("automation_id", "steps")

    def __init__(self, automation_id):
        self.automation_id = automation_id

    def __enter__(self):
        self.steps = current_steps()
        self.steps[self.automation_id] = None

    def __exit__(self, *exc_info):
        self.steps.pop(self.automation_id, None)
