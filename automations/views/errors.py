"""Pages for what went wrong, inside the layout, each with a way on.

:class:`PageErrorsMixin` renders a view's 403 and 404 with ``automations/403.html`` and
``automations/404.html`` instead of the server's bare pages. Projects can use the same pages for
their whole site: ``handler403 = "automations.views.errors.permission_denied"`` and
``handler404 = "automations.views.errors.page_not_found"`` in the root urlconf.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse

FORBIDDEN_TEMPLATE = "automations/403.html"
NOT_FOUND_TEMPLATE = "automations/404.html"


def _message(exception) -> str:
    if exception is None or not exception.args:
        return ""
    message = exception.args[0]
    return message if isinstance(message, str) else ""


def permission_denied(request, exception=None, template_name=FORBIDDEN_TEMPLATE):
    """Render the 403 page: what the user may not do, and where they can go instead."""
    response = TemplateResponse(request, template_name, {"message": _message(exception)}, status=403)
    return response.render()


def page_not_found(request, exception=None, template_name=NOT_FOUND_TEMPLATE):
    """Render the 404 page: what was not found, and where they can go instead."""
    response = TemplateResponse(
        request, template_name, {"message": _message(exception), "request_path": request.path}, status=404
    )
    return response.render()


class PageErrorsMixin:
    """Render ``Http404`` and ``PermissionDenied`` raised by the view with the layout's error pages."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404 as exc:
            return page_not_found(request, exc)
        except PermissionDenied as exc:
            return permission_denied(request, exc)
