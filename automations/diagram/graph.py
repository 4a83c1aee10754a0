"""The graph of an automation class, read from its declaration: nodes, edges and badges.

Nothing here runs project code: callables and references are only named. The graph is what every
renderer (:mod:`.svg`, :mod:`.dot`, :mod:`.mermaid`) draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from automations.flow.control import End, If, Join, Split
from automations.flow.execute import Execute, SendMessage
from automations.flow.forms import Form, ModelForm
from automations.flow.references import reference_name
from automations.flow.repeat import Repeat

from .describe import describe_duration, describe_moment, describe_value

#: Edge kinds, as the renderers style them.
NEXT, THEN, ELSE, ON_ERROR, SPLIT, JOIN, REPEAT = (
    "next",
    "then",
    "else",
    "on_error",
    "split",
    "join",
    "repeat",
)


@dataclass
class DiagramNode:
    """One node of the diagram: its name, kind, description and badges, in declaration order."""

    name: str
    kind: str
    description: str = ""
    badges: list[str] = field(default_factory=list)
    index: int = 0


@dataclass(frozen=True)
class Edge:
    """A way a path may go from ``source`` to ``target``; ``back`` for edges against the flow."""

    source: str
    target: str
    kind: str = NEXT
    label: str = ""
    back: bool = False


@dataclass
class Graph:
    """The nodes (in declaration order) and edges of one automation class."""

    class_path: str
    verbose_name: str
    nodes: list[DiagramNode]
    edges: list[Edge]

    def node(self, name: str) -> DiagramNode:
        """Return the node called ``name``; raise ``KeyError`` if there is none."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def edges_between(self, source: str, target: str) -> list[Edge]:
        """Return the edges from ``source`` to ``target``."""
        return [edge for edge in self.edges if edge.source == source and edge.target == target]


def build_graph(automation_class) -> Graph:
    """Return the :class:`Graph` of ``automation_class`` (a declared ``flow.Automation`` subclass)."""
    declared = automation_class._nodes
    order = {name: position for position, name in enumerate(declared)}
    nodes, edges = [], []
    for position, (name, node) in enumerate(declared.items()):
        nodes.append(
            DiagramNode(name, node_kind(node), str(node.description or ""), node_badges(node), position)
        )
        for kind, label, target in node_edges(node):
            if target in declared:
                back = kind == REPEAT or order[target] <= order[name]
                edges.append(Edge(name, target, kind, label, back))
    return Graph(
        automation_class.get_automation_class_name(),
        automation_class.get_verbose_name(),
        nodes,
        list(dict.fromkeys(edges)),
    )


def node_kind(node) -> str:
    """Return the kind of ``node`` the renderers draw: ``execute``, ``form``, ``if``, ``split``, ..."""
    for cls, kind in (
        (ModelForm, "form"),
        (Form, "form"),
        (If, "if"),
        (Split, "split"),
        (Join, "join"),
        (Repeat, "repeat"),
        (End, "end"),
        (SendMessage, "message"),
        (Execute, "execute"),
    ):
        if isinstance(node, cls):
            return kind
    return "node"


def node_edges(node):
    """Yield ``(kind, label, target name)`` for every way a path may leave ``node``."""
    successor = node._successor
    if isinstance(node, End):
        return
    if isinstance(node, Split):
        for path in node._paths:
            yield SPLIT, "", reference_name(path)
        return
    if isinstance(node, Repeat):
        yield REPEAT, _repeat_schedule(node), node.start_name()
        return
    if isinstance(node, If):
        for kind, label, value in ((THEN, _("yes"), node._then), (ELSE, _("no"), node._else)):
            if node._branch_is_node(value):
                yield kind, label, reference_name(value)
            elif successor:  # no argument, or a callable run in place: on to the next node
                yield kind, label, successor
        return
    if successor:
        yield (JOIN if isinstance(node, Join) else NEXT), "", successor
    if isinstance(node, Execute) and node._on_error is not None:
        yield ON_ERROR, _("on error"), node.target_name(node._on_error)


def node_badges(node) -> list[str]:
    """Return the short texts that show a node's waits, skips and other modifiers."""
    badges = []
    if node._wait_for is not None:
        badges.append(_("wait %(duration)s") % {"duration": describe_duration(node._wait_for)})
    if node._wait_until is not None:
        badges.append(_("wait until %(moment)s") % {"moment": describe_moment(node._wait_until)})
    if node._wait_condition is not None:
        badges.append(_("as soon as %(condition)s") % {"condition": describe_value(node._wait_condition)})
    if node._skip_if is not None:
        badges.append(_("skip if %(condition)s") % {"condition": describe_value(node._skip_if)})
    if node._skip_after is not None:
        badges.append(_("skip after %(duration)s") % {"duration": describe_duration(node._skip_after)})
    badges.extend(_kind_badges(node))
    return badges


def _kind_badges(node) -> list[str]:
    badges = []
    if isinstance(node, Execute):
        if node._func is not None and type(node).method is Execute.method:
            badges.append(_("runs %(callable)s") % {"callable": describe_value(node._func)})
        elif type(node).method is not Execute.method:
            badges.append(_("runs %(callable)s") % {"callable": type(node).__name__})
        if node.threaded:
            badges.append(_("in the worker"))
    elif isinstance(node, If):
        badges.append(_("if %(condition)s") % {"condition": describe_value(node._condition)})
        for label, value in ((_("yes"), node._then), (_("no"), node._else)):
            if value is not None and not node._branch_is_node(value):
                badges.append(
                    _("%(branch)s: runs %(callable)s") % {"branch": label, "callable": describe_value(value)}
                )
    elif isinstance(node, Form):
        if node._user:
            badges.append(_("for user %(selector)s") % {"selector": _selector(node._user)})
        if node._group:
            badges.append(_("for group %(selector)s") % {"selector": _selector(node._group)})
        for permission in node._permissions:
            badges.append(_("needs %(permission)s") % {"permission": permission})
        if not node.is_assigned():
            badges.append(_("for anybody"))
    elif isinstance(node, SendMessage):
        badges.append(_("sends %(message)s") % {"message": node._message})
    return badges


def _selector(selector: dict) -> str:
    def shown(value):
        return _("(computed)") if callable(value) and not isinstance(value, type) else describe_value(value)

    return ", ".join(f"{key}={shown(value)}" for key, value in selector.items())


def _repeat_schedule(node: Repeat) -> str:
    if node._at is not None:
        return _("daily at %(time)s") % {"time": "{:02d}:{:02d}".format(*node._at)}
    if node._interval is not None:
        return _("every %(duration)s") % {"duration": describe_duration(node._interval)}
    if node._days == 1:
        return _("every day")
    return _("every %(days)s days") % {"days": node._days}
