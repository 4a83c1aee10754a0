"""Which instances this thread is stepping: the engine enters them, everybody else may ask.

While the engine runs a step of an instance, messages sent to it reach the object being stepped,
its shared row object is not refreshed from older copies, and a wake-up from inside waits until
the step has committed.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

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


@contextmanager
def stepping(automation_id):
    """Mark ``automation_id`` as stepped by this thread while inside."""
    steps = current_steps()
    steps[automation_id] = None
    try:
        yield
    finally:
        steps.pop(automation_id, None)
