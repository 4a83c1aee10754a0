"""Write a graph as Graphviz ``dot`` text (``dot -Tsvg`` draws it)."""

from __future__ import annotations

from .graph import Graph
from .layout import kind_labels

SHAPES = {
    "if": "hexagon", "end": "oval", "split": "box", "join": "box", "form": "box", "repeat": "box",
    "execute": "box", "message": "box", "node": "box", "foreach": "box", "subautomation": "box3d",
}  # fmt: skip
FILLS = {
    "execute": "#eaf1ff", "form": "#fff7e3", "if": "#f3edff", "split": "#e6f6ee", "join": "#e6f6ee",
    "repeat": "#fdedf4", "end": "#39404a", "message": "#e6f6fa", "node": "#f3f3f3", "foreach": "#e6f6ee",
    "subautomation": "#fff0e6",
}  # fmt: skip
EDGE_STYLES = {
    "then": 'color="#25805a"', "else": 'color="#a8471f"', "on_error": 'color="#c0262d", style=dashed',
    "repeat": 'color="#a83a6d", style=dotted, constraint=false', "split": "", "join": "", "next": "",
    "deadline": 'color="#b07800", style=dashed',
}  # fmt: skip


def quoted(text: str) -> str:
    """Return ``text`` as a dot string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(graph: Graph, counts: dict[str, int] | None = None) -> str:
    """Return ``graph`` as a ``digraph`` in the dot language; ``counts`` are added to node labels."""
    counts = counts or {}
    kinds = kind_labels()
    lines = [
        f"digraph {quoted(graph.class_path)} {{",
        f"  label={quoted(graph.verbose_name)};",
        "  labelloc=t;",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11];',
        '  edge [fontname="sans-serif", fontsize=10];',
    ]
    for node in graph.nodes:
        label = [node.name, kinds[node.kind]]
        label += [node.description] if node.description else []
        label += node.badges
        if counts.get(node.name):
            label.append(f"[{counts[node.name]}]")
        font = ', fontcolor="#ffffff"' if node.kind == "end" else ""
        lines.append(
            f"  {quoted(node.name)} [label={quoted(chr(10).join(label))}, shape={SHAPES[node.kind]}, "
            f'fillcolor="{FILLS[node.kind]}"{font}];'
        )
    for edge in graph.edges:
        attributes = [
            a for a in (EDGE_STYLES[edge.kind], f"label={quoted(edge.label)}" if edge.label else "") if a
        ]
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {quoted(edge.source)} -> {quoted(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
