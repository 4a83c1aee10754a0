"""Write a graph as Mermaid ``flowchart`` text (for Markdown pages that render Mermaid)."""

from __future__ import annotations

from .graph import Graph
from .layout import kind_labels

EDGE_ARROWS = {"on_error": "-.->", "repeat": "-.->", "deadline": "-.->"}
SHAPES = {
    "if": ("{{", "}}"), "end": ("([", "])"), "split": ("[/", "/]"), "join": ("[\\", "\\]"),
    "foreach": ("[/", "/]"), "subautomation": ("[[", "]]"),
}  # fmt: skip
CLASSES = {
    "execute": "fill:#eaf1ff,stroke:#3a66c4", "form": "fill:#fff7e3,stroke:#b07800",
    "if": "fill:#f3edff,stroke:#6d45b5", "split": "fill:#e6f6ee,stroke:#25805a",
    "join": "fill:#e6f6ee,stroke:#25805a", "repeat": "fill:#fdedf4,stroke:#a83a6d",
    "end": "fill:#39404a,stroke:#1d2430,color:#ffffff", "message": "fill:#e6f6fa,stroke:#1c7d96",
    "node": "fill:#f3f3f3,stroke:#6b6b6b", "foreach": "fill:#e6f6ee,stroke:#25805a",
    "subautomation": "fill:#fff0e6,stroke:#b4561c",
}  # fmt: skip


def node_id(name: str) -> str:
    """Return the Mermaid id of node ``name`` (prefixed: ``end`` is a Mermaid keyword)."""
    return f"n_{name}"


def text(value: str) -> str:
    """Return ``value`` safe inside a quoted Mermaid label."""
    escaped = value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return escaped.replace("|", "#124;")


def render_mermaid(graph: Graph, counts: dict[str, int] | None = None) -> str:
    """Return ``graph`` as a Mermaid ``flowchart TD``; ``counts`` are added to node labels."""
    counts = counts or {}
    kinds = kind_labels()
    lines = ["flowchart TD"]
    for node in graph.nodes:
        label = [f"<b>{text(node.name)}</b>", text(kinds[node.kind])]
        label += [text(node.description)] if node.description else []
        label += [text(badge) for badge in node.badges]
        if counts.get(node.name):
            label.append(f"[{counts[node.name]}]")
        opening, closing = SHAPES.get(node.kind, ("[", "]"))
        lines.append(f'  {node_id(node.name)}{opening}"{"<br/>".join(label)}"{closing}')
    for edge in graph.edges:
        arrow = EDGE_ARROWS.get(edge.kind, "-->")
        edge_label = f'|"{text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {node_id(edge.source)} {arrow}{edge_label} {node_id(edge.target)}")
    for kind, style in CLASSES.items():
        members = [node_id(node.name) for node in graph.nodes if node.kind == kind]
        if members:
            lines.append(f"  classDef atm_{kind} {style}")
            lines.append(f"  class {','.join(members)} atm_{kind}")
    return "\n".join(lines) + "\n"
