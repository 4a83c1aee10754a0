"""The graph of an automation class, read from its declaration: nodes, edges and badges.

Nothing here runs project code: callables and references are only named. The graph is what every
renderer (:mod:`.svg`, :mod:`.dot`, :mod:`.mermaid`) draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from automations.engine.long_calls import uses_task_backend
from automations.flow.control import End, If, Join, Split
from automations.flow.execute import Execute, SendMessage
from automations.flow.foreach import ForEach
from automations.flow.forms import Form, ModelForm
from automations.flow.limits import CONCURRENCY, Limit
from automations.flow.references import reference_name
from automations.flow.repeat import Repeat
from automations.flow.retrying import Exponential, Fixed, Retrying
from automations.flow.subautomation import SubAutomation

from .describe import describe_duration, describe_moment, describe_value

#: Edge kinds, as the renderers style them.
NEXT, THEN, ELSE, ON_ERROR, SPLIT, JOIN, REPEAT, DEADLINE = (
    "next",
    "then",
    "else",
    "on_error",
    "split",
    "join",
    "repeat",
    "deadline",
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
        (ForEach, "foreach"),
        (Split, "split"),
        (SubAutomation, "subautomation"),
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
    if isinstance(node, End):
        return
    yield from _kind_edges(node)
    deadline = node._deadline
    if deadline is not None and deadline.then is not None:  # without a route: a badge, see node_badges
        label = _("after %(duration)s") % {"duration": describe_duration(deadline.duration)}
        yield DEADLINE, label, node.target_name(deadline.then)


def _kind_edges(node):
    successor = node._successor
    if isinstance(node, Split):
        label = _("each item") if isinstance(node, ForEach) else ""
        for path in node._paths:
            yield SPLIT, label, reference_name(path)
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
    if isinstance(node, Execute | SubAutomation) and node._on_error is not None:
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
    if isinstance(node, Retrying) and node._retry is not None:
        badges.append(_retry_badge(node._retry))
    if node._deadline is not None and node._deadline.then is None:
        badges.append(_("deadline %(duration)s") % {"duration": describe_duration(node._deadline.duration)})
    return badges


def _kind_badges(node) -> list[str]:
    badges = []
    if isinstance(node, Execute):
        if node._func is not None and type(node).method is Execute.method:
            badges.append(_("runs %(callable)s") % {"callable": describe_value(node._func)})
        elif type(node).method is not Execute.method:
            badges.append(_("runs %(callable)s") % {"callable": type(node).__name__})
        if node.threaded:
            badges.append(_("on the task backend") if uses_task_backend() else _("in the worker"))
        badges.extend(_limit_badge(limit) for limit in node.limits)
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
    elif isinstance(node, ForEach):
        badges.append(_("for each item of %(items)s") % {"items": describe_value(node._items)})
        if node._limit is not None:
            badges.append(_("at most %(limit)s at once") % {"limit": node._limit})
        if node._into is not None:
            badges.append(_("results into %(key)s") % {"key": node._into})
    elif isinstance(node, SubAutomation):
        badges.append(_("starts %(automation)s") % {"automation": node.child_class_name.rpartition(".")[2]})
        if node._taking:
            badges.append(_("takes %(keys)s") % {"keys": ", ".join(node._taking)})
        if node._into is not None:
            badges.append(_("result into %(key)s") % {"key": node._into})
    return badges


def _limit_badge(limit: Limit) -> str:
    """Return a flow-control limit in words: "at most 3 at once per customer", "10 per 1 minute"."""
    if limit.kind == CONCURRENCY:
        text = _("at most %(count)s at once") % {"count": limit.count}
    else:
        text = _("%(count)s per %(duration)s") % {
            "count": limit.count,
            "duration": describe_duration(limit.per),
        }
    return _("%(limit)s per %(key)s") % {"limit": text, "key": limit.key} if limit.key else text


def _retry_badge(policy) -> str:
    """Return e.g. "retry 5×, 10 s ×2" or "retry 3×, every 1 min"."""
    backoff = policy.backoff
    if isinstance(backoff, Exponential):
        first, factor = describe_duration(backoff.first), f"{backoff.factor:g}"
        pause = _("%(first)s ×%(factor)s") % {"first": first, "factor": factor}
    elif isinstance(backoff, Fixed):
        pause = _("every %(duration)s") % {"duration": describe_duration(backoff.pause)}
    else:
        pause = describe_value(backoff)
    return _("retry %(attempts)s×, %(pause)s") % {"attempts": policy.attempts, "pause": pause}


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
