"""Forward references to nodes and methods: ``this.name`` and ``"self.name"``."""

from __future__ import annotations

from typing import TypeAlias, overload


class Reference:
    """A name on the automation, resolved against each automation instance when used."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"this.{self.name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Reference", self.name))


#: A node (or method) named in a declaration: ``this.name``, ``"self.name"`` or ``"name"``.
NodeName: TypeAlias = Reference | str


class This:
    """Buffer attribute access as references: ``this.next_node`` means the attribute ``next_node``.

    Automations are declared before their attributes exist; ``this.name`` records the name and
    each automation instance resolves it when the node runs::

        this = flow.This()

        class Greeting(flow.Automation):
            start = flow.Execute(this.greet).Next(this.end)
            end = flow.End()

            def greet(self, task):
                ...
    """

    def __getattr__(self, name: str) -> Reference:
        if name.startswith("__"):
            raise AttributeError(name)
        return Reference(name)


this = This()


@overload
def reference_name(value: NodeName) -> str: ...
@overload
def reference_name(value: object) -> str | None: ...
def reference_name(value: object) -> str | None:
    """Return the attribute name ``value`` refers to, or ``None`` if it is not a reference.

    ``this.name`` and the string ``"self.name"`` refer to ``name``; so does a plain string
    ``"name"`` (the documented form of ``.Next("name")``).
    """
    if isinstance(value, Reference):
        return value.name
    if isinstance(value, str):
        return value[5:] if value.startswith("self.") else value
    return None
