"""What a person reads for a node: its description, with its identifier for those who need it.

A node's ``description`` says what it does ("Send the invoice to the partner service."); a node
without one reads as its humanized name ("send_invoice" becomes "Send invoice"). The identifier
stays at hand for operators (templates show it as small code). A node the class does not declare
(any more), or whose class is not known, is shown by its identifier alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.text import capfirst

from automations import registry


@dataclass(frozen=True)
class NodeLabel:
    """``text`` for people; ``identifier`` the node's name, ``""`` when ``text`` is the name itself."""

    text: str
    identifier: str = ""

    def __str__(self) -> str:
        return self.text


def humanize(name: str) -> str:
    """Return ``name`` as words: ``"send_invoice"`` becomes ``"Send invoice"``."""
    return capfirst(" ".join(name.replace("_", " ").split())) or name


def node_label(automation_class, name: str) -> NodeLabel:
    """Return the label of the node ``name`` of ``automation_class`` (``None``: an unknown class)."""
    nodes = getattr(automation_class, "_nodes", None) or {}
    node = nodes.get(registry.node_name(automation_class, name))  # a renamed node by its old name too
    if node is None:
        return NodeLabel(name)
    return NodeLabel(str(getattr(node, "description", "") or "") or humanize(name), name)


class ClassCache:
    """The automation classes of dotted paths, each looked up once; ``None`` for unknown ones."""

    def __init__(self) -> None:
        self._classes: dict[str, type | None] = {}

    def get(self, path: str):
        """Return the automation class of ``path``, or ``None`` if no such class is declared."""
        if path not in self._classes:
            try:
                self._classes[path] = registry.get(path)
            except registry.UnknownAutomationError:
                self._classes[path] = None
        return self._classes[path]

    def label(self, path: str, name: str) -> NodeLabel:
        """Return the label of the node ``name`` of the class at ``path``."""
        return node_label(self.get(path), name)
