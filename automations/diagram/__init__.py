"""Flow diagrams of automations, drawn from their declaration by the package's own code.

:func:`build_graph` reads an automation class into a :class:`Graph`; :func:`render_svg`,
:func:`render_dot` and :func:`render_mermaid` draw it. :func:`class_state` and
:func:`instance_state` read from the database what to mark on it::

    from automations import diagram

    graph = diagram.build_graph(Onboarding)
    svg = diagram.render_svg(graph, diagram.class_state(graph))
"""

from .dot import render_dot
from .graph import DiagramNode, Edge, Graph, build_graph
from .mermaid import render_mermaid
from .state import class_state, instance_state
from .svg import DiagramState, render_svg

FORMATS = ("svg", "dot", "mermaid")


def render(graph: Graph, format: str = "svg", state: DiagramState | None = None) -> str:
    """Return ``graph`` in ``format`` (``"svg"``, ``"dot"`` or ``"mermaid"``); raise ``ValueError`` else."""
    state = state or DiagramState()
    if format == "svg":
        return render_svg(graph, state)
    if format == "dot":
        return render_dot(graph, state.counts)
    if format == "mermaid":
        return render_mermaid(graph, state.counts)
    raise ValueError(f"Unknown diagram format {format!r}; choose one of {', '.join(FORMATS)}.")


__all__ = [
    "FORMATS",
    "DiagramNode",
    "DiagramState",
    "Edge",
    "Graph",
    "build_graph",
    "class_state",
    "instance_state",
    "render",
    "render_dot",
    "render_mermaid",
    "render_svg",
]
