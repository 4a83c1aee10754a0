"""Draw a graph as SVG: self-contained (its own styles), one ``<g>`` per node and edge with ids.

Every node is a ``<g id="<prefix><name>" class="atm-node atm-kind-<kind>" data-node="<name>">``;
every edge a ``<g class="atm-edge atm-edge-<kind>" data-source=... data-target=... data-kind=...>``.
The state classes ``atm-current``, ``atm-visited``, ``atm-skipped``, ``atm-failed``,
``atm-revisited`` (nodes, with a ``×n`` badge of the visits) and ``atm-taken`` (edges) mark an
instance's path; :file:`automations/static/automations/diagram.js` moves them live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from django.utils.translation import gettext as _

from .graph import Graph
from .layout import IF_TIP, LINE_GAP, PADDING, TEXT_SIZE, Layout, layout

STYLE = """
.atm-diagram { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.atm-diagram .atm-shape { stroke-width: 1.5; }
.atm-diagram .atm-title { font-weight: 600; fill: #1d2430; }
.atm-diagram .atm-kind { fill: #4a5361; }
.atm-diagram .atm-description { fill: #2f3743; font-style: italic; }
.atm-diagram .atm-badge { fill: #5a3d00; }
.atm-diagram .atm-badge-row { fill: #fff1c7; }
.atm-kind-execute .atm-shape { fill: #eaf1ff; stroke: #3a66c4; }
.atm-kind-form .atm-shape { fill: #fff7e3; stroke: #b07800; }
.atm-kind-if .atm-shape { fill: #f3edff; stroke: #6d45b5; }
.atm-kind-split .atm-shape, .atm-kind-join .atm-shape,
.atm-kind-foreach .atm-shape { fill: #e6f6ee; stroke: #25805a; }
.atm-kind-subautomation .atm-shape { fill: #fff0e6; stroke: #b4561c; }
.atm-kind-repeat .atm-shape { fill: #fdedf4; stroke: #a83a6d; }
.atm-kind-message .atm-shape { fill: #e6f6fa; stroke: #1c7d96; }
.atm-kind-node .atm-shape { fill: #f3f3f3; stroke: #6b6b6b; }
.atm-kind-end .atm-shape { fill: #39404a; stroke: #1d2430; }
.atm-kind-end .atm-title, .atm-kind-end .atm-kind { fill: #ffffff; }
.atm-diagram .atm-edge path { fill: none; stroke: #6b7280; stroke-width: 1.5; }
.atm-diagram .atm-edge-then path { stroke: #25805a; }
.atm-diagram .atm-edge-else path { stroke: #a8471f; }
.atm-diagram .atm-edge-on_error path { stroke: #c0262d; stroke-dasharray: 6 4; }
.atm-diagram .atm-edge-deadline path { stroke: #b07800; stroke-dasharray: 8 3 2 3; }
.atm-diagram .atm-edge-repeat path { stroke: #a83a6d; stroke-dasharray: 2 4; stroke-width: 2; }
.atm-diagram .atm-edge-label { fill: #1d2430; font-size: 12px; }
.atm-diagram .atm-label-back { fill: #ffffff; opacity: .9; }
.atm-diagram .atm-count circle { fill: #d9480f; stroke: #ffffff; stroke-width: 2; }
.atm-diagram .atm-count text { fill: #ffffff; font-weight: 700; font-size: 12px; }
.atm-diagram .atm-count-error circle { fill: #c0262d; }
.atm-diagram .atm-start { fill: #1d2430; }
.atm-diagram .atm-start-edge path { fill: none; stroke: #6b7280; stroke-width: 1.5; }
.atm-diagram .atm-halo { fill: none; stroke: none; }
.atm-instance .atm-node { opacity: .55; }
.atm-instance .atm-node.atm-visited, .atm-instance .atm-node.atm-current,
.atm-instance .atm-node.atm-failed { opacity: 1; }
.atm-instance .atm-edge { opacity: .35; }
.atm-instance .atm-edge.atm-taken { opacity: 1; }
.atm-instance .atm-edge.atm-taken path {
  stroke: #1d6f48; stroke-width: 2.5; marker-end: url(#atm-arrow-taken);
}
.atm-node.atm-visited .atm-shape { stroke-width: 2.5; }
.atm-node.atm-current .atm-halo { stroke: #f08c00; stroke-width: 6; opacity: .55; }
.atm-node.atm-current .atm-shape { stroke: #d9480f; stroke-width: 3; }
.atm-node.atm-failed .atm-halo { stroke: #c0262d; stroke-width: 6; opacity: .45; }
.atm-node.atm-failed .atm-shape { stroke: #c0262d; stroke-width: 3; }
.atm-node .atm-now { display: none; }
.atm-node.atm-current .atm-now, .atm-node.atm-failed .atm-now { display: inline; }
.atm-now rect { fill: #d9480f; }
.atm-node.atm-failed .atm-now rect { fill: #c0262d; }
.atm-now text { fill: #ffffff; font-size: 11px; font-weight: 700; }
.atm-instance .atm-node.atm-skipped { opacity: 1; }
.atm-node.atm-skipped .atm-shape { fill: #f4f4f5; stroke: #8b919c; stroke-dasharray: 5 4; }
.atm-node.atm-skipped text { fill: #5b6270; }
.atm-node.atm-skipped .atm-badge-row { fill: #e8e9ec; }
.atm-node .atm-skip-tag { display: none; }
.atm-node.atm-skipped .atm-skip-tag { display: inline; }
.atm-skip-tag rect { fill: #6b7280; }
.atm-node.atm-skipped .atm-skip-tag text { fill: #ffffff; font-size: 11px; font-weight: 700; }
.atm-node.atm-cancelled .atm-shape { fill: #f4f4f5; stroke: #57606a; stroke-width: 3; }
.atm-node .atm-cancel-tag { display: none; }
.atm-node.atm-cancelled .atm-cancel-tag { display: inline; }
.atm-cancel-tag rect { fill: #57606a; }
.atm-node.atm-cancelled .atm-cancel-tag text { fill: #ffffff; font-size: 11px; font-weight: 700; }
.atm-node .atm-visits { display: none; }
.atm-node.atm-revisited .atm-visits { display: inline; }
.atm-visits rect { fill: #1d2430; }
.atm-visits text { fill: #ffffff; font-size: 12px; font-weight: 700; }
"""

ARROW_COLOURS = {
    "next": "#6b7280", "join": "#6b7280", "split": "#6b7280", "then": "#25805a", "else": "#a8471f",
    "on_error": "#c0262d", "repeat": "#a83a6d", "taken": "#1d6f48", "deadline": "#b07800",
}  # fmt: skip


@dataclass
class DiagramState:
    """What to mark on a diagram: instance counts per node, or one instance's path."""

    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    current: set[str] = field(default_factory=set)
    visited: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)  # where a person cancelled the instance
    taken: set[tuple[str, str, str]] = field(default_factory=set)  # (source, target, edge kind)
    visits: dict[str, int] = field(default_factory=dict)
    instance: bool = False


def render_svg(graph: Graph, state: DiagramState | None = None, *, id_prefix: str = "atm-node-") -> str:
    """Return ``graph`` drawn as an SVG document (a string), marked with ``state``."""
    state = state or DiagramState()
    drawn = layout(graph)
    classes = "atm-diagram atm-instance" if state.instance else "atm-diagram"
    title = _("Flow of %(automation)s") % {"automation": graph.verbose_name}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" width="{drawn.width:.0f}" '
        f'height="{drawn.height:.0f}" viewBox="0 0 {drawn.width:.0f} {drawn.height:.0f}" role="img" '
        f'font-size="{TEXT_SIZE}" data-automation={quoteattr(graph.class_path)} '
        f"data-visits-title={quoteattr(visits_title())}>",
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
        "<defs>" + "".join(_marker(kind, colour) for kind, colour in ARROW_COLOURS.items()) + "</defs>",
    ]
    if drawn.start:
        x, y = drawn.start
        start = _("Start of the flow")
        parts.append(
            f'<circle class="atm-start" cx="{x:.1f}" cy="{y:.1f}" r="7">'
            f"<title>{escape(start)}</title></circle>"
        )
        first = drawn.boxes[graph.nodes[0].name]
        parts.append(
            f'<g class="atm-start-edge"><path d="M{x:.1f} {y + 7:.1f} V{first.y:.1f}" '
            f'marker-end="url(#atm-arrow-next)"/></g>'
        )
    for node in graph.nodes:
        parts.append(_node(node, drawn, state, id_prefix))
    for route in drawn.routes:  # after the nodes: arrowheads stay visible over a node's halo
        parts.append(_edge(route, state))
    parts.append("</svg>")
    return "\n".join(parts)


def _marker(kind, colour) -> str:
    return (
        f'<marker id="atm-arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        f'<path d="M0 0 L10 5 L0 10 z" fill="{colour}"/></marker>'
    )


def _edge(route, state) -> str:
    edge = route.edge
    classes = f"atm-edge atm-edge-{edge.kind}"
    if (edge.source, edge.target, edge.kind) in state.taken:
        classes += " atm-taken"
    (x0, y0), *rest = route.points
    d = f"M{x0:.1f} {y0:.1f} " + " ".join(f"L{x:.1f} {y:.1f}" for x, y in rest)
    out = [
        f'<g class="{classes}" data-source="{edge.source}" data-target="{edge.target}" '
        f'data-kind="{edge.kind}">',
        f'<path d="{d}" marker-end="url(#atm-arrow-{edge.kind})"/>',
    ]
    if route.label_at:
        x, y = route.label_at
        width = len(edge.label) * TEXT_SIZE * 0.62 + 6
        left = x - width + 3 if route.anchor == "end" else x - 3
        out.append(
            f'<rect class="atm-label-back" x="{left:.1f}" y="{y - TEXT_SIZE:.1f}" width="{width:.1f}" '
            f'height="{TEXT_SIZE + 4}" rx="3"/>'
        )
        out.append(
            f'<text class="atm-edge-label" x="{x:.1f}" y="{y:.1f}" text-anchor="{route.anchor}">'
            f"{escape(edge.label)}</text>"
        )
    out.append("</g>")
    return "".join(out)


def _node(node, drawn: Layout, state: DiagramState, id_prefix) -> str:
    box = drawn.boxes[node.name]
    classes = f"atm-node atm-kind-{node.kind}"
    for name, members in (("atm-current", state.current), ("atm-visited", state.visited),
                          ("atm-skipped", state.skipped), ("atm-failed", state.failed),
                          ("atm-cancelled", state.cancelled)):  # fmt: skip
        if node.name in members:
            classes += f" {name}"
    visits = state.visits.get(node.name, 0)
    if visits > 1:
        classes += " atm-revisited"
    tooltip = "\n".join(text for text, _css, _size in box.lines)
    out = [
        f'<g id="{escape(id_prefix + node.name)}" class="{classes}" data-node="{node.name}">',
        f"<title>{escape(tooltip)}</title>",
        _shape(node.kind, box, "atm-halo", 5),
        _shape(node.kind, box, "atm-shape", 0),
    ]
    y = box.y + PADDING
    for text, css, size in box.lines:
        if css == "atm-badge":
            inset = PADDING - 4 + (IF_TIP if node.kind == "if" else 0)
            out.append(
                f'<rect class="atm-badge-row" x="{box.x + inset:.1f}" y="{y - 1:.1f}" '
                f'width="{box.width - 2 * inset:.1f}" height="{size + 3}" rx="4"/>'
            )
        y += size
        out.append(
            f'<text class="{css}" x="{box.cx:.1f}" y="{y - 2:.1f}" text-anchor="middle" font-size="{size}">'
            f"{escape(text)}</text>"
        )
        y += LINE_GAP
    out.append(_tag(box, "atm-now", _("now")))
    if state.instance:
        out.append(_tag(box, "atm-skip-tag", _("skipped")))
        out.append(_tag(box, "atm-cancel-tag", _("cancelled")))
        out.append(_visits_badge(box, visits))
    count, errors = state.counts.get(node.name, 0), state.errors.get(node.name, 0)
    if count:
        out.append(_count(box.right - 4, box.y + 2, count, "atm-count", _("%(count)s waiting here")))
    if errors:
        out.append(
            _count(
                box.x + 4,
                box.y + 2,
                errors,
                "atm-count atm-count-error",
                _("%(count)s stopped here by an error"),
            )
        )
    out.append("</g>")
    return "".join(out)


def _shape(kind, box, css, grow) -> str:
    x, y, w, h = box.x - grow, box.y - grow, box.width + 2 * grow, box.height + 2 * grow
    if kind == "if":
        tip = min(IF_TIP, h / 2)
        points = [
            (x + tip, y),
            (x + w - tip, y),
            (x + w, y + h / 2),
            (x + w - tip, y + h),
            (x + tip, y + h),
            (x, y + h / 2),
        ]
        return (
            f'<polygon class="{css}" points="' + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + '"/>'
        )
    radius = h / 2 if kind == "end" else 4 if kind in ("split", "join", "foreach") else 10
    extra = ""
    if kind in ("split", "join", "foreach") and css == "atm-shape":
        bar_y = y + 3 if kind in ("split", "foreach") else y + h - 7
        extra = (
            f'<rect x="{x + 8:.1f}" y="{bar_y:.1f}" width="{w - 16:.1f}" height="4" rx="2" fill="#25805a"/>'
        )
    if kind == "subautomation" and css == "atm-shape":  # a second border: a whole automation inside
        extra = (
            f'<rect x="{x + 4:.1f}" y="{y + 4:.1f}" width="{w - 8:.1f}" height="{h - 8:.1f}" rx="7" '
            'fill="none" stroke="#b4561c" stroke-width="1"/>'
        )
    return (
        f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
        f'rx="{min(radius, 24):.1f}"/>' + extra
    )


def _tag(box, css, label) -> str:
    width = len(label) * 11 * 0.62 + 12
    x, y = box.x - 6, box.y - 9
    return (
        f'<g class="{css}"><rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="16" rx="8"/>'
        f'<text x="{x + width / 2:.1f}" y="{y + 12:.1f}" text-anchor="middle">{escape(label)}</text></g>'
    )


def visits_title() -> str:
    """Return the tooltip of a node's visit badge, with ``%(count)s`` for the number of visits."""
    return _("visited %(count)s times")


def visits_width(count: int) -> float:
    """Return the width of the ``×count`` badge (``diagram.js`` computes it the same way)."""
    return 14 + 8 * len(str(count))


def _visits_badge(box, count) -> str:
    width, right = visits_width(count), box.right + 6
    return (
        f'<g class="atm-visits" data-right="{right:.1f}" data-visits="{count}">'
        f"<title>{escape(visits_title() % {'count': count})}</title>"
        f'<rect x="{right - width:.1f}" y="{box.y - 9:.1f}" width="{width:.1f}" height="18" rx="9"/>'
        f'<text x="{right - width / 2:.1f}" y="{box.y + 4:.1f}" text-anchor="middle">×{count}</text></g>'
    )


def _count(x, y, count, css, tooltip) -> str:
    radius = 11 if count < 100 else 15
    return (
        f'<g class="{css}" data-count="{count}"><title>{escape(tooltip % {"count": count})}</title>'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>'
        f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{count}</text></g>'
    )
