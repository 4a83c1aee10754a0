"""Template tags of the flow diagrams: ``{% load automation_diagrams %}``."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from automations import diagram, registry
from automations.diagram.legend import render_legend
from automations.diagram.state import instance_status

register = template.Library()


@register.simple_tag
def instance_diagram(automation) -> dict:
    """Return ``{"svg", "legend", "status", "current", "found"}`` for an ``AutomationModel`` instance.

    ``svg`` is the instance's diagram with its path and where it stands marked, ``legend`` what the
    marks mean; ``found`` is ``False`` (and both empty) if the instance's class is not a registered
    automation.
    """
    try:
        automation_class = automation.get_automation_class()
    except registry.UnknownAutomationError:
        return {"svg": "", "legend": "", "status": "", "current": [], "found": False}
    graph = diagram.build_graph(automation_class)
    state = diagram.instance_state(graph, automation)
    svg = diagram.render_svg(graph, state, id_prefix=f"atm-{automation.pk}-node-")
    return {
        "svg": mark_safe(svg),
        "legend": mark_safe(render_legend()),
        "status": instance_status(automation, state),
        "current": sorted(state.current | state.failed),
        "found": True,
    }


@register.simple_tag
def automation_class_diagram(class_path: str):
    """Return the SVG diagram of the registered automation ``class_path`` with its waiting counts."""
    try:
        automation_class = registry.get(class_path)
    except registry.UnknownAutomationError:
        return ""
    graph = diagram.build_graph(automation_class)
    return mark_safe(diagram.render_svg(graph, diagram.class_state(graph)))
