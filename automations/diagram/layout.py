"""Where everything goes: a layered layout, top to bottom, with orthogonal edges.

Nodes get ranks by the longest path along forward edges (edges to a later declared node; the
others, loops and ``Repeat``, are back edges). Inside a rank nodes are ordered by their
predecessors' positions, then by declaration. Edges to the next rank run straight or with one
horizontal step in the gap between ranks; longer edges use a free vertical line or a lane beside
the nodes they would cross; back edges leave the node on the right and run up a lane on the right.
Text sizes are estimated from the number of characters, generously, so that labels are never cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .graph import Graph

TITLE_SIZE, TEXT_SIZE = 14, 12
CHAR_WIDTH = 0.62  # of the font size: wide enough for common sans-serif fonts
PADDING, LINE_GAP = 12, 4
MIN_WIDTH, WRAP_AT = 150, 34
RANK_GAP, NODE_GAP, LANE_GAP, MARGIN = 64, 36, 22, 24
IF_TIP = 18
START_SPACE = 34  # above the first node, for the start marker
PORT_ORDER = {"then": 0, "else": 2, "on_error": 3, "deadline": 4}  # left to right, among edges to one node


def kind_labels() -> dict[str, str]:
    """Return the translated names of the node kinds, shown under each node's name."""
    return {
        "execute": _("Execute"),
        "form": _("Form for a person"),
        "if": _("Decision"),
        "split": _("Split into parallel paths"),
        "foreach": _("One path per item"),
        "subautomation": _("Sub-automation"),
        "join": _("Join of parallel paths"),
        "repeat": _("Repeat"),
        "end": _("End"),
        "message": _("Send a message"),
        "node": _("Node"),
    }


@dataclass
class Box:
    """A node's place and the lines it shows: ``lines`` are ``(text, css class, font size)``."""

    name: str
    rank: int
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0
    lines: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def right(self) -> float:
        return self.x + self.width


@dataclass
class Route:
    """The polyline of one edge, and where its label goes (``anchor`` ``start`` or ``middle``)."""

    edge: object
    points: list[tuple[float, float]]
    label_at: tuple[float, float] | None = None
    anchor: str = "middle"


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float
    start: tuple[float, float] | None = None


def text_width(text: str, size: int) -> float:
    """Return a generous estimate of the width of ``text`` at font ``size``."""
    return len(text) * size * CHAR_WIDTH


def wrap(text: str, width: int = WRAP_AT) -> list[str]:
    """Split ``text`` into lines of at most ``width`` characters, at spaces where possible."""
    lines, current = [], ""
    for word in text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def box_lines(node) -> list[tuple[str, str, int]]:
    lines = [(node.name, "atm-title", TITLE_SIZE), (kind_labels()[node.kind], "atm-kind", TEXT_SIZE)]
    lines += [(line, "atm-description", TEXT_SIZE) for line in wrap(node.description)]
    for badge in node.badges:
        lines += [(line, "atm-badge", TEXT_SIZE) for line in wrap(badge)]
    return lines


def layout(graph: Graph) -> Layout:
    """Return the :class:`Layout` of ``graph``."""
    ranks = assign_ranks(graph)
    boxes = {}
    for node in graph.nodes:
        lines = box_lines(node)
        width = max(MIN_WIDTH, *(text_width(text, size) + 2 * PADDING for text, _css, size in lines))
        height = 2 * PADDING + sum(size + LINE_GAP for _text, _css, size in lines) - LINE_GAP
        if node.kind == "if":  # the pointed sides of a decision take room from the text
            width += 2 * IF_TIP
        boxes[node.name] = Box(node.name, ranks[node.name], width=width, height=height, lines=lines)
    rows = order_ranks(graph, ranks)
    _place(rows, boxes)
    routes = _route(graph, rows, boxes)
    return _normalised(boxes, routes, graph)


def assign_ranks(graph: Graph) -> dict[str, int]:
    """Return ``{node name: rank}``: the longest path along forward edges from the first node."""
    ranks: dict[str, int] = {}
    incoming: dict[str, list[str]] = {node.name: [] for node in graph.nodes}
    for edge in graph.edges:
        if not edge.back:
            incoming[edge.target].append(edge.source)
    previous = -1
    for node in graph.nodes:  # declaration order is a topological order of the forward edges
        sources = [ranks[name] for name in incoming[node.name] if name in ranks]
        ranks[node.name] = max(sources) + 1 if sources else previous + 1
        previous = ranks[node.name]
    return ranks


def order_ranks(graph: Graph, ranks: dict[str, int]) -> list[list[str]]:
    """Return the node names of each rank, left to right."""
    rows: list[list[str]] = [[] for _ in range(max(ranks.values(), default=-1) + 1)]
    for node in graph.nodes:
        rows[ranks[node.name]].append(node.name)
    index = {node.name: node.index for node in graph.nodes}
    position: dict[str, float] = {}
    for row in rows:

        def weight(name):
            before = [position[e.source] for e in graph.edges if e.target == name and e.source in position
                      and not e.back]  # fmt: skip
            return (sum(before) / len(before) if before else float("inf"), index[name])

        row.sort(key=weight)
        for place, name in enumerate(row):
            position[name] = place - (len(row) - 1) / 2
    return rows


def _place(rows, boxes) -> None:
    widths = [sum(boxes[name].width for name in row) + NODE_GAP * (len(row) - 1) for row in rows]
    widest = max(widths, default=0)
    y = START_SPACE
    for row, row_width in zip(rows, widths, strict=True):
        x = (widest - row_width) / 2
        for name in row:
            boxes[name].x, boxes[name].y = x, y
            x += boxes[name].width + NODE_GAP
        y += max(boxes[name].height for name in row) + RANK_GAP


def _route(graph, rows, boxes) -> list[Route]:
    row_bottom = [max(boxes[name].bottom for name in row) for row in rows]
    row_top = [min(boxes[name].y for name in row) for row in rows]
    forward = [edge for edge in graph.edges if not edge.back]
    exits = _ports(forward, boxes, "source", "target")
    entries = _ports(forward, boxes, "target", "source")
    routes = []
    left_lanes = right_lanes = 0
    for edge in graph.edges:
        source, target = boxes[edge.source], boxes[edge.target]
        if edge.back:
            right_lanes += 1
            routes.append(_back_route(edge, source, target, rows, boxes, right_lanes))
            continue
        sx, tx = exits[edge], entries[edge]
        gap_below = row_bottom[source.rank] + RANK_GAP / 2
        gap_above = row_top[target.rank] - RANK_GAP / 2
        start, end = (sx, source.bottom), (tx, target.y)
        if target.rank == source.rank + 1:
            points = [start, (sx, gap_below), (tx, gap_below), end] if abs(sx - tx) > 0.5 else [start, end]
        else:
            between = [boxes[name] for row in rows[source.rank + 1 : target.rank] for name in row]
            free = next((x for x in (sx, tx) if all(not b.x - 8 < x < b.right + 8 for b in between)), None)
            if free is not None:
                points = [start, (sx, gap_below), (free, gap_below), (free, gap_above), (tx, gap_above), end]
            else:
                left = min(b.x for b in between)
                right = max(b.right for b in between)
                if abs(sx - left) <= abs(right - sx):
                    left_lanes += 1
                    lane = left - LANE_GAP * left_lanes
                else:
                    right_lanes += 1
                    lane = right + LANE_GAP * right_lanes
                points = [start, (sx, gap_below), (lane, gap_below), (lane, gap_above), (tx, gap_above), end]
            points = _simplified(points)
        label_at, anchor = None, "start"
        if edge.label:  # just below the node, beside its port, away from the node's other ports
            anchor = "end" if sx < source.cx - 0.5 else "start"
            label_at = (sx - 6 if anchor == "end" else sx + 6, source.bottom + 14)
        routes.append(Route(edge, points, label_at, anchor))
    return routes


def _ports(edges, boxes, own, other) -> dict:
    """Spread the edges leaving (or entering) each node along its bottom (or top) side."""
    by_node: dict[str, list] = {}
    for edge in edges:
        by_node.setdefault(getattr(edge, own), []).append(edge)
    ports = {}
    for name, node_edges in by_node.items():
        box = boxes[name]
        node_edges.sort(key=lambda e: (boxes[getattr(e, other)].cx, PORT_ORDER.get(e.kind, 1)))
        for place, edge in enumerate(node_edges):
            ports[edge] = box.x + box.width * (place + 1) / (len(node_edges) + 1)
    return ports


def _back_route(edge, source, target, rows, boxes, lane_number) -> Route:
    low, high = sorted((source.rank, target.rank))
    spanned = [boxes[name] for row in rows[low : high + 1] for name in row]
    lane = max(b.right for b in spanned) + LANE_GAP * lane_number
    same = edge.source == edge.target
    start = (source.right, source.y + source.height * (0.35 if same else 0.5))
    end = (target.right, target.y + target.height * (0.65 if same else 0.5))
    points = [start, (lane, start[1]), (lane, end[1]), end]
    label_at = (lane + 6, (start[1] + end[1]) / 2) if edge.label else None
    return Route(edge, points, label_at, "start")


def _simplified(points):
    """Drop repeated points and points in the middle of a straight run."""
    kept = []
    for point in points:
        if kept and abs(kept[-1][0] - point[0]) < 0.5 and abs(kept[-1][1] - point[1]) < 0.5:
            continue
        if len(kept) >= 2:
            (ax, ay), (bx, by) = kept[-2], kept[-1]
            if (abs(ax - bx) < 0.5 and abs(bx - point[0]) < 0.5) or (
                abs(ay - by) < 0.5 and abs(by - point[1]) < 0.5
            ):
                kept[-1] = point
                continue
        kept.append(point)
    return kept


def _normalised(boxes, routes, graph) -> Layout:
    """Shift everything so that the drawing starts at the margin; measure it with its labels."""
    xs, ys = [], []
    for box in boxes.values():
        xs += [box.x, box.right]
        ys += [box.y, box.bottom]
    for route in routes:
        xs += [x for x, _y in route.points]
        ys += [y for _x, y in route.points]
        if route.label_at:
            x, y = route.label_at
            extent = text_width(route.edge.label, TEXT_SIZE) + 8
            xs += [x - extent, x] if route.anchor == "end" else [x, x + extent]
            ys += [y - TEXT_SIZE, y + 4]
    if not xs:
        return Layout(boxes, routes, 2 * MARGIN, 2 * MARGIN)
    dx, dy = MARGIN - min(xs), MARGIN - min(min(ys), 0)
    for box in boxes.values():
        box.x += dx
        box.y += dy
    for route in routes:
        route.points = [(x + dx, y + dy) for x, y in route.points]
        if route.label_at:
            route.label_at = (route.label_at[0] + dx, route.label_at[1] + dy)
    first = boxes[graph.nodes[0].name]
    return Layout(
        boxes, routes, max(xs) + dx + MARGIN, max(ys) + dy + MARGIN, (first.cx, first.y - START_SPACE + 8)
    )
