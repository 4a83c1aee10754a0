"""The legend of an instance's diagram: what its marks mean, each next to a small sample.

The samples carry the classes of the diagram's own nodes and edges, so they are drawn by the
stylesheet inside the diagram's SVG (:mod:`.svg`), which must be on the same page.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from .svg import visits_width

_BOX = '<rect class="atm-shape" x="4" y="4" width="30" height="16" rx="5"/>'
_HALO = '<rect class="atm-halo" x="1" y="1" width="36" height="22" rx="7"/>'


def _node(classes: str, inside: str = _BOX) -> str:
    return f'<g class="atm-node atm-kind-execute {classes}">{inside}</g>'


def _edge(classes: str, kind: str) -> str:
    return f'<g class="atm-edge {classes}"><path d="M3 12 H33" marker-end="url(#atm-arrow-{kind})"/></g>'


def _visits(count: int) -> str:
    width = visits_width(count)
    return (
        '<g class="atm-node atm-visited atm-revisited"><g class="atm-visits">'
        f'<rect x="{19 - width / 2:.1f}" y="3" width="{width:.1f}" height="18" rx="9"/>'
        f'<text x="19" y="16" text-anchor="middle">×{count}</text></g></g>'
    )


def legend_items() -> list[tuple[str, str]]:
    """Return ``(sample SVG content, explanation)`` for every mark of an instance's diagram."""
    return [
        (_node("atm-visited"), _("ran")),
        (_node("atm-current", _HALO + _BOX), _("where it stands now (red: stopped by an error)")),
        (_node("atm-skipped"), _("skipped: passed by, or out of its way")),
        (_node("atm-cancelled"), _("where a person cancelled it")),
        (_node(""), _("not reached yet")),
        (_edge("atm-taken", "taken"), _("the way it went")),
        (_edge("", "next"), _("a way it did not go")),
        (_visits(3), _("came here 3 times")),
    ]


def render_legend() -> str:
    """Return the legend of an instance's diagram as an HTML list (``<ul class="atm-diagram-legend">``)."""
    items = "".join(
        f'<li><svg xmlns="http://www.w3.org/2000/svg" class="atm-diagram atm-instance" width="38" '
        f'height="24" viewBox="0 0 38 24" aria-hidden="true" focusable="false">{sample}</svg>'
        f"<span>{escape(text)}</span></li>"
        for sample, text in legend_items()
    )
    return f'<ul class="atm-diagram-legend" aria-label="{escape(_("Legend"))}">{items}</ul>'
