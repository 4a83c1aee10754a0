"""Pages for what went wrong, inside the layout, each with a way on.

A "not found" or "not allowed" that a user can reach by following a link or changing a number in
an address is an answer, not a bug: views return it as a response, :func:`not_found` or
:func:`forbidden`, so that it shows the layout's page with its status in development (``DEBUG``)
too, where a raised ``Http404`` would show Django's technical page. :class:`PageErrorsMixin` does
the same for the ``Http404`` and ``PermissionDenied`` that a class-based view raises (e.g. through
``get_object_or_404``). Projects can use the same pages for their whole site:
``handler403 = "automations.views.errors.permission_denied"`` and
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


def forbidden(request, message: str = "", template_name: str = FORBIDDEN_TEMPLATE) -> TemplateResponse:
    """Return the 403 page (status 403) saying ``message``: what the user may not do, and a way on."""
    response = TemplateResponse(request, template_name, {"message": message}, status=403)
    response.render()
    return response


def not_found(request, message: str = "", template_name: str = NOT_FOUND_TEMPLATE) -> TemplateResponse:
    """Return the 404 page (status 404) saying ``message``: what was not found, and a way on."""
    response = TemplateResponse(
        request, template_name, {"message": message, "request_path": request.path}, status=404
    )
    response.render()
    return response


def permission_denied(request, exception=None, template_name=FORBIDDEN_TEMPLATE):
    """Render the 403 page for ``PermissionDenied`` (usable as ``handler403``)."""
    return forbidden(request, _message(exception), template_name)


def page_not_found(request, exception=None, template_name=NOT_FOUND_TEMPLATE):
    """Render the 404 page for ``Http404`` (usable as ``handler404``)."""
    return not_found(request, _message(exception), template_name)


class PageErrorsMixin:
    """Render ``Http404`` and ``PermissionDenied`` raised by the view with the layout's error pages."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404 as exc:
            return page_not_found(request, exc)
        except PermissionDenied as exc:
            return permission_denied(request, exc)
