"""The shape of an automation class: what of its declaration running instances depend on.

A shape lists the nodes in declaration order, each with its kind (the node's class name), the
nodes a path continues with from it, and for a ``Split`` the ``Join`` where its paths meet::

    {"nodes": [{"name": "start", "kind": "Execute", "next": ["ask"]},
               {"name": "fan_out", "kind": "Split", "next": ["left", "right"], "join": "merge"}, ...]}

Its :func:`fingerprint` tells two shapes apart. What a node does (its code, its conditions, its
form) is not part of the shape: changing it never strands an instance. This module reads the
declared nodes of a class and imports nothing of :mod:`automations.flow`, so that the layers below
the facade may use it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: The ``kind`` of the nodes that only send instances standing on them elsewhere (``flow.Obsolete``).
OBSOLETE = "Obsolete"


def shape_of(cls: type[Any]) -> dict[str, Any]:
    """Return the shape of the automation class ``cls`` as JSON-able data."""
    nodes = []
    for name, node in cls._nodes.items():
        entry: dict[str, Any] = {"name": name, "kind": type(node).__name__, "next": list(node.successors())}
        join = getattr(node, "matching_join", None)
        if join:
            entry["join"] = join
        nodes.append(entry)
    return {"nodes": nodes}


def fingerprint(shape: dict[str, Any]) -> str:
    """Return the SHA-256 of ``shape`` in canonical JSON, 64 hex digits."""
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Shape:
    """A shape read for comparing: its nodes by name, and the splits meeting at each ``Join``."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Shape:
        """Return the :class:`Shape` of stored shape ``data`` (empty if unknown)."""
        nodes = (data or {}).get("nodes", [])
        return cls({entry["name"]: entry for entry in nodes if isinstance(entry, dict) and "name" in entry})

    def kind(self, name: str) -> str | None:
        """Return the kind of node ``name``, or ``None`` if the shape has no such node."""
        entry = self.nodes.get(name)
        return entry.get("kind") if entry else None

    def declares(self, name: str) -> bool:
        """Return whether a path can stand on ``name``: a node that is not obsolete."""
        return name in self.nodes and self.kind(name) != OBSOLETE

    def splits_meeting_at(self, join: str) -> dict[str, list[str]]:
        """Return ``{split name: its paths}`` for the splits whose paths meet at ``join``."""
        return {
            name: list(entry.get("next", []))
            for name, entry in self.nodes.items()
            if entry.get("kind") == "Split" and entry.get("join") == join
        }


def changed_splits(old: Shape, new: Shape, renamed: dict[str, str], join: str) -> list[str]:
    """Return the splits meeting at ``join`` whose paths differ between ``old`` and ``new``.

    ``join`` is named as in ``old``. Old names are read through ``renamed`` (old name -> new name)
    and through the obsolete nodes of ``new`` (an obsolete node stands for its target), so that a
    declared rename or move is not a change.
    """

    def current(name: str) -> str:
        name = renamed.get(name, name)
        entry = new.nodes.get(name)
        if entry is not None and entry.get("kind") == OBSOLETE and entry.get("next"):
            return entry["next"][0]
        return name

    before = {
        current(split): sorted(current(p) for p in paths)
        for split, paths in old.splits_meeting_at(join).items()
    }
    after = {split: sorted(paths) for split, paths in new.splits_meeting_at(current(join)).items()}
    names = sorted(set(before) | set(after))
    return [name for name in names if before.get(name) != after.get(name)]
