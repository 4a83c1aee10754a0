"""The registry of declared automation classes.

Every concrete :class:`automations.flow.Automation` subclass registers itself here when it is
created. Class paths stored in the database are resolved only through this registry: a path that
is not registered is never imported.
"""

from __future__ import annotations

from typing import Any

from automations.exceptions import AutomationsError
from automations.logsafe import shown

# The classes are flow.Automation subclasses, typed type[Any]: the facade sits layers above this module.
_automations: dict[str, type[Any]] = {}


class UnknownAutomationError(AutomationsError, LookupError):
    """A class path does not name a registered automation."""


def class_path(cls: type) -> str:
    """Return the dotted path under which ``cls`` is registered and stored."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type) -> None:
    """Register ``cls`` under its dotted path (a redefinition replaces the older class)."""
    _automations[class_path(cls)] = cls


def unregister(path: str) -> None:
    """Forget the class registered under ``path``, if any (for tests that declare classes of their own)."""
    _automations.pop(path, None)


def get(path: str) -> type[Any]:
    """Return the automation class registered under ``path``.

    Raise :class:`UnknownAutomationError` if no declared automation has that path.
    """
    try:
        return _automations[path]
    except KeyError:
        raise UnknownAutomationError(
            f"{shown(path)} is not a registered automation class. Is its module an 'automations' module of "
            f"an installed app, or imported at start-up?"
        ) from None


def all_automations() -> dict[str, type[Any]]:
    """Return a copy of the registry, path -> class, in registration order."""
    return dict(_automations)


def node_name(cls: type[Any], stored: str) -> str | None:
    """Return the name ``cls`` declares now for the node a task row stores as ``stored``.

    ``stored`` itself if the class declares it, else the name its ``Meta.renamed_nodes`` gives it
    if that is declared, else ``None``. Pages that show or take an open task use it, so that a
    renamed node works before a step has moved the task to its new name.
    """
    nodes = getattr(cls, "_nodes", {})
    if stored in nodes:
        return stored
    new = getattr(cls, "_renamed_nodes", {}).get(stored)
    return new if new in nodes else None


_base: type | None = None


def register_base(cls: type) -> None:
    """Remember the base class of all automations (``flow.Automation``), for :func:`is_automation_class`."""
    global _base
    _base = cls


def is_automation_class(value: object) -> bool:
    """Return whether ``value`` is a subclass of the automations' base class (abstract ones included)."""
    return isinstance(value, type) and _base is not None and issubclass(value, _base)
