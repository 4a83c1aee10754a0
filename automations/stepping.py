"""Which instances are being stepped here: the engine enters them, everybody else may ask.

While the engine runs a step of an instance, messages sent to it reach the object being stepped,
its shared row object is not refreshed from older copies, and a wake-up from inside waits until
the step has committed. The state is a ``contextvars`` value: it follows the code that runs the
step (a thread, or the thread ``sync_to_async`` hands it to), never another thread's.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any

# The steps are the engine's (automations.engine.steps._Step); this module sits below the engine.
_NONE: Mapping[int, Any] = MappingProxyType({})
_steps: ContextVar[Mapping[int, Any]] = ContextVar("automations_steps", default=_NONE)


def current_steps() -> Mapping[int, Any]:
    """Return ``{automation id: step or None}`` for the instances being advanced here."""
    return _steps.get()


def in_step(automation_id: int | None = None) -> bool:
    """Return whether a step runs here (of ``automation_id``, if given)."""
    steps = _steps.get()
    return bool(steps) if automation_id is None else automation_id in steps


def stepping_automation(automation_id: int) -> Any:
    """Return the ``Automation`` object being advanced here as ``automation_id``, or ``None``."""
    step = _steps.get().get(automation_id)
    return step.automation if step is not None else None


class stepping:  # noqa: N801 - used as a function: with stepping(automation_id)
    """Mark ``automation_id`` as being stepped here while inside; :meth:`attach` names its step."""

    __slots__ = ("automation_id", "steps", "token")

    def __init__(self, automation_id: int) -> None:
        self.automation_id = automation_id

    def __enter__(self) -> stepping:
        self.steps: dict[int, Any] = {**_steps.get(), self.automation_id: None}
        self.token: Token[Mapping[int, Any]] = _steps.set(self.steps)
        return self

    def attach(self, step: Any) -> None:
        """Let :func:`stepping_automation` find the object ``step`` advances."""
        self.steps[self.automation_id] = step

    def __exit__(self, *exc_info: object) -> None:
        _steps.reset(self.token)


# -- batches of steps ---------------------------------------------------------------------------
# A batch (automations.engine.batches.Batch) steps several instances in one transaction and holds
# back their row writes until it ends. Whoever reads or writes an instance's rows outside that
# instance's own step says so first (:func:`touching`): a running batch then writes what it holds
# and loads that instance afresh, so that nobody sees or overwrites an older row.

_batch: ContextVar[Any] = ContextVar("automations_batch", default=None)


def touching(automation_id: int | None) -> None:
    """Say that the rows of instance ``automation_id`` are read or written here, outside its step."""
    batch = _batch.get()
    if batch is not None and automation_id is not None and not in_step(automation_id):
        batch.touched(automation_id)


class batching:  # noqa: N801 - used as a function: with batching(batch)
    """Make ``batch`` the batch that :func:`touching` tells, while inside."""

    __slots__ = ("batch", "token")

    def __init__(self, batch: Any) -> None:
        self.batch = batch

    def __enter__(self) -> Any:
        self.token: Token[Any] = _batch.set(self.batch)
        return self.batch

    def __exit__(self, *exc_info: object) -> None:
        _batch.reset(self.token)
