"""How a declaration says what changed for running instances: renames, obsolete nodes, its version.

An instance stands on nodes by name. When a release renames or removes a node, the class says so,
in code that is reviewed with the change::

    class Onboarding(flow.Automation):
        class Meta:
            version = 2                                   # what started_version returns
            renamed_nodes = {"start": "wait_an_hour"}     # the same node, a new name
            reviewed_changes = {"fan_out": "instances inside go on without the new path"}

        wait_an_hour = flow.Execute(this.remind).AfterWaitingFor(timedelta(hours=1))
        check_stock = flow.Obsolete(this.ship)           # removed: instances on it go on at ship

A renamed node keeps the instances' visits (a wait goes on from when it began); an obsolete node
ends the visit and sends the path to its target, where a new visit begins. ``manage.py
automation_versions --check`` reports what is left unmapped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from automations.outcomes import Outcome, Proceed, Visit

from .nodes import Declaring, Node
from .references import NodeName, reference_name

#: The message of the task of an obsolete node's visit.
MOVED_ON = "obsolete"


class Obsolete(Node):
    """A node that is no longer part of the flow: an instance standing on it goes on at ``target``.

    Nothing runs; the visit ends with the message ``"obsolete"`` and the path continues at
    ``target`` (``this.name`` or ``"name"``), where a new visit begins. No other node may lead here,
    and the next declared node does not follow it: only instances that stood on the node before the
    deploy ever visit it. Remove it once none does (``manage.py automation_versions``)::

        check_stock = flow.Obsolete(this.ship)
    """

    def __init__(self, target: NodeName, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = target

    def references(self) -> Iterator[tuple[str, NodeName]]:
        yield "Obsolete()", self._target

    def successors(self) -> list[str]:
        return [reference_name(self._target)]

    def runs_code(self) -> bool:
        return False

    def visit(self, visit: Visit) -> Outcome:
        return Proceed(targets=(reference_name(self._target),), message=MOVED_ON)


def is_obsolete(node: object) -> bool:
    """Return whether ``node`` is an :class:`Obsolete` node."""
    return isinstance(node, Obsolete)


def read_meta(cls: type[Any]) -> None:
    """Set ``cls._version``, ``cls._renamed_nodes`` and ``cls._reviewed_changes`` from its own ``Meta``.

    Only the class's own ``Meta`` counts: the stored instances of a class are named by its path, so
    its renames are its own.
    """
    meta = vars(cls).get("Meta")
    cls._version = getattr(meta, "version", 1)
    cls._renamed_nodes = dict(getattr(meta, "renamed_nodes", {}) or {})
    reviewed = getattr(meta, "reviewed_changes", {}) or {}
    cls._reviewed_changes = dict(reviewed) if isinstance(reviewed, dict) else dict.fromkeys(reviewed, "")


def versioning_problems(cls: type[Declaring]) -> Iterator[tuple[str, str, str]]:
    """Yield ``(id, message, hint)`` for each problem of the class's renames, obsolete nodes, version."""
    name = cls.__name__
    nodes = cls._nodes
    version = getattr(cls, "_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        yield (
            "automations.E041",
            f"{name}.Meta.version is {version!r}, not a whole number from 1.",
            "Count the versions 1, 2, 3, ...: code compares them with started_version.",
        )
    for old, new in getattr(cls, "_renamed_nodes", {}).items():
        if old in nodes:
            yield (
                "automations.E042",
                f"{name}.Meta.renamed_nodes renames '{old}', which {name} still declares.",
                f"Remove '{old}' from renamed_nodes, or rename the node '{old}' in the class.",
            )
        if new not in nodes or is_obsolete(nodes[new]):
            yield (
                "automations.E043",
                f"{name}.Meta.renamed_nodes renames '{old}' to '{new}', which is not a node of {name}.",
                f"Name the node that '{old}' became, as the class declares it.",
            )
    for reviewed in getattr(cls, "_reviewed_changes", {}):
        if reviewed not in nodes:
            yield (
                "automations.E044",
                f"{name}.Meta.reviewed_changes names '{reviewed}', which is not a node of {name}.",
                "Name the Split or Join whose change you reviewed.",
            )
    first = next(iter(nodes), None)
    if first is not None and is_obsolete(nodes[first]):
        yield (
            "automations.E046",
            f"{name}.{first}: the first node is obsolete, so every new instance would start on it.",
            "Declare the node where instances start first; obsolete nodes after it.",
        )
    for node_name, node in nodes.items():
        for modifier, value in node.references():
            target = reference_name(value)
            if target in nodes and is_obsolete(nodes[target]):
                if is_obsolete(node):
                    hint = f"Send the instances on '{node_name}' straight to where '{target}' sends them."
                else:
                    hint = f"Continue with the node that replaced '{target}'."
                yield (
                    "automations.E045",
                    f"{name}.{node_name}: {modifier} refers to the obsolete node '{target}'.",
                    hint,
                )
