"""Flow diagrams: an automation class with the instances waiting at each node, and one instance.

Both need an active user with the ``automations.view_automationmodel`` permission (superusers have
it); anonymous users are sent to log in, everybody else gets 403. A class path that names no
registered automation, or an unknown instance, gets 404 inside the same layout: only classes the
registry knows are drawn, nothing is imported from a path in the URL.
"""

from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.generic import TemplateView

from automations import diagram, registry
from automations.exceptions import AutomationsError
from automations.models import AutomationModel

NOT_FOUND_TEMPLATE = "automations/diagram_not_found.html"
DOWNLOADS = {"svg": "image/svg+xml", "dot": "text/vnd.graphviz", "mermaid": "text/plain"}
EXTENSIONS = {"svg": "svg", "dot": "dot", "mermaid": "mmd"}


class DiagramAccessMixin(PermissionRequiredMixin):
    """Let active users with the view permission on automation instances in."""

    permission_required = "automations.view_automationmodel"

    def has_permission(self):
        return self.request.user.is_active and super().has_permission()


class _NotFound(AutomationsError):
    """The automation class or instance a diagram page names does not exist."""


class DiagramViewBase(DiagramAccessMixin, TemplateView):
    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except _NotFound:
            return render(request, NOT_FOUND_TEMPLATE, {"path": kwargs}, status=404)


class AutomationDiagramView(DiagramViewBase):
    """The flow of one automation class, numbered with the running instances waiting at each node.

    ``?format=svg``, ``dot`` or ``mermaid`` downloads the diagram instead of showing the page.
    """

    template_name = "automations/diagram.html"

    def get(self, request, *args, **kwargs):
        format = request.GET.get("format")
        if format in DOWNLOADS:
            try:
                graph, state = self._graph()
            except _NotFound:
                return render(request, NOT_FOUND_TEMPLATE, {"path": kwargs}, status=404)
            response = HttpResponse(diagram.render(graph, format, state), content_type=DOWNLOADS[format])
            name = graph.class_path.rsplit(".", 1)[-1]
            response["Content-Disposition"] = f'attachment; filename="{name}.{EXTENSIONS[format]}"'
            return response
        return super().get(request, *args, **kwargs)

    def _graph(self):
        try:
            automation_class = registry.get(self.kwargs["class_path"])
        except registry.UnknownAutomationError:
            raise _NotFound from None
        graph = diagram.build_graph(automation_class)
        return graph, diagram.class_state(graph)

    def get_context_data(self, **kwargs):
        graph, state = self._graph()
        kwargs["class_path"] = graph.class_path
        return super().get_context_data(
            graph=graph,
            verbose_name=graph.verbose_name,
            svg=mark_safe(diagram.render_svg(graph, state)),
            waiting=sum(state.counts.values()),
            stopped=sum(state.errors.values()),
            formats=list(DOWNLOADS),
            **kwargs,
        )


class InstanceDiagramView(DiagramViewBase):
    """The flow of one instance: the path it took and where it stands now, updated live."""

    template_name = "automations/instance_diagram.html"

    def get_context_data(self, **kwargs):
        automation = AutomationModel.objects.filter(pk=self.kwargs["automation_id"]).first()
        if automation is None:
            raise _NotFound
        try:
            automation_class = automation.get_automation_class()
        except registry.UnknownAutomationError:
            raise _NotFound from None
        return super().get_context_data(
            automation=automation,
            class_path=automation.automation_class,
            verbose_name=automation_class.get_verbose_name(),
            **kwargs,
        )
