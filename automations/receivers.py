"""Receivers of messages: the ``receive_<message>`` methods of an automation class and the data they need.

Declared with the class, read by the run time (:mod:`automations.instances`) and by everyone who
checks a message before sending it. A module of its own, outside the ``automations.flow`` package:
importing anything from that package loads the facade, and the run time sits below it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from automations.exceptions import AutomationsError
from automations.logsafe import shown

logger = logging.getLogger("automations.messages")

RECEIVER_PREFIX = "receive_"

_Receiver = TypeVar("_Receiver", bound=Callable[..., Any])


class UnknownMessageError(AutomationsError, AttributeError):
    """An automation has no receiver for a message."""


def require_data_parameters(**types: type) -> Callable[[_Receiver], _Receiver]:
    """Declare the data parameters (and their types) a ``receive_*`` method needs.

    A message whose data (a dict, or a request's ``GET`` parameters) lacks one of them, or has a
    value that cannot be converted (``int("t2")``), is not delivered. Dict data is passed to the
    receiver with the values converted (``"2"`` becomes ``2``)::

        @flow.require_data_parameters(email=str, webinar=int)
        def receive_register(self, token, data):
            ...
    """

    def decorate(receiver: _Receiver) -> _Receiver:
        vars(receiver)["require_data_parameters"] = dict(types)
        return receiver

    return decorate


def receiver_for(automation_class: type, message: str) -> Callable[..., Any]:
    """Return the unbound receiver of ``message`` on ``automation_class``, or raise UnknownMessageError."""
    receiver = getattr(automation_class, RECEIVER_PREFIX + str(message), None)
    if not callable(receiver):
        if isinstance(message, str) and message.isidentifier() and message.isascii():
            hint = f"define a method '{RECEIVER_PREFIX}{message}(self, token, data)'"
        else:
            hint = f"a message is the name of a method after '{RECEIVER_PREFIX}', like 'paid'"
        name = automation_class.__name__
        raise UnknownMessageError(f"{name} has no receiver for message {shown(message)}: {hint}.")
    return receiver


def data_source(data: object) -> Any:
    """Return the mapping parameters are read from: a request's ``GET`` or the data itself."""
    if data is None:
        return {}
    return getattr(data, "GET", data)


@dataclass(frozen=True)
class ParameterProblem:
    """Why data do not meet a receiver's requirements: the parameter ``name`` of type ``kind`` is
    ``missing``, or its ``value`` cannot be converted to ``kind``."""

    name: str
    kind: type
    missing: bool
    value: Any = None


def parameter_problem(receiver: Callable[..., Any], data: object) -> ParameterProblem | None:
    """Return the first of the receiver's required parameters that ``data`` lack or cannot give
    as its type, in the order the receiver declares them; ``None`` if ``data`` meet them all."""
    source = data_source(data)
    for name, kind in (getattr(receiver, "require_data_parameters", None) or {}).items():
        try:
            raw = source[name]
        except (KeyError, TypeError):
            return ParameterProblem(name, kind, missing=True)
        try:
            if not isinstance(raw, kind):
                kind(raw)
        except (TypeError, ValueError):
            return ParameterProblem(name, kind, missing=False, value=raw)
    return None


def required_parameters(receiver: Callable[..., Any], data: object) -> dict[str, Any] | None:
    """Return the receiver's required parameters read from ``data`` and converted to their types.

    Return ``None`` if one is missing or cannot be converted (``int("t2")``); ``{}`` if the
    receiver requires nothing.
    """
    required = getattr(receiver, "require_data_parameters", None)
    if not required:
        return {}
    source = data_source(data)
    converted = {}
    for name, kind in required.items():
        try:
            raw = source[name]
            converted[name] = raw if isinstance(raw, kind) else kind(raw)
        except (KeyError, TypeError, ValueError):
            return None
    return converted


def coerce_data(receiver: Callable[..., Any], data: object) -> tuple[bool, Any]:
    """Return ``(ok, data)``: whether ``data`` meets the receiver's requirements, converted if a dict."""
    converted = required_parameters(receiver, data)
    if converted is None:
        return False, data
    if converted and isinstance(data, dict):
        return True, {**data, **converted}
    return True, data

