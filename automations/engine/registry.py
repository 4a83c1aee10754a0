"""An ordered list of functions that apps register, each called in turn with its failures logged.

:mod:`.hooks` (after each committed step) and :mod:`.sweep_jobs` (at every sweep) each keep one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from automations.logsafe import shown

logger = logging.getLogger("automations.engine")

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """Functions registered once each and called in the order of registration.

    ``failure`` is the log message for a function that raises, with one ``%s`` for its name;
    ``name`` says what that name is (its ``__qualname__`` unless told otherwise).
    """

    def __init__(self, failure: str, name: Callable[[Any], object] | None = None) -> None:
        self.failure = failure
        self.name = name or (lambda function: getattr(function, "__qualname__", function))
        self._functions: list[F] = []

    def register(self, function: F) -> F:
        """Add ``function`` at the end, unless it is registered already; return it."""
        if function not in self._functions:
            self._functions.append(function)
        return function

    def unregister(self, function: F) -> None:
        """Remove ``function``; a function that is not registered is ignored."""
        if function in self._functions:
            self._functions.remove(function)

    def registered(self) -> tuple[F, ...]:
        """Return the registered functions, in the order they are called."""
        return tuple(self._functions)

    def call(self, function: Callable[..., Any], *args: object) -> Any:
        """Return ``function(*args)``; log an exception and return ``None`` instead of raising it."""
        try:
            return function(*args)
        except Exception:
            logger.exception(self.failure, shown(self.name(function)))
            return None

    def call_each(self, *args: object) -> list[tuple[F, Any]]:
        """Call every registered function with ``args``; return ``(function, result)`` pairs.

        The list is copied first, so a function may register or unregister others; one that raises
        is logged (see :meth:`call`) and its result is ``None``.
        """
        return [(function, self.call(function, *args)) for function in self.registered()]
