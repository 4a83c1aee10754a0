"""What every view of the API shares: who may call it, how lists are paged, how refusals look.

The permission classes call the functions the HTML views call (:mod:`automations.views.access`,
:mod:`automations.permissions`, :mod:`automations.starting`), so that a rule holds in both.
Authentication is the project's (``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``; the site
uses tokens and sessions); the schema is drf-spectacular's, whatever the project's default.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import APIView

from automations import settings as atm_settings
from automations.views.access import may_change_instances, may_view_instances

from .serializers import DetailSerializer


class ActiveUser(permissions.BasePermission):
    """An active, logged-in user (the HTML pages' ``LoginRequiredMixin``)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class MayViewInstances(ActiveUser):
    """An active user with the view permission on instances (the instances pages' rule)."""

    def has_permission(self, request, view):
        return super().has_permission(request, view) and may_view_instances(request.user)


class MayChangeInstances(ActiveUser):
    """An active user with the view and change permissions on instances (the actions' rule)."""

    def has_permission(self, request, view):
        return super().has_permission(request, view) and may_change_instances(request.user)


class Pages(PageNumberPagination):
    """``?page=2&page_size=50``; ``ATM_TASK_PAGE_SIZE`` items a page by default, at most 100."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        self.page_size = atm_settings.get("ATM_TASK_PAGE_SIZE")
        return super().get_page_size(request)


class APIBase(APIView):
    """The base of the API's views: active users only, drf-spectacular's schema."""

    permission_classes = [ActiveUser]
    schema = AutoSchema()


#: The refusals every view may answer with, for the OpenAPI schema.
REFUSED = {401: DetailSerializer, 403: DetailSerializer}
NOT_FOUND = {404: DetailSerializer}


def path_id(name: str) -> OpenApiParameter:
    """Return the schema of the id ``name`` in a path: a whole number, as ``<int:...>`` matches."""
    return OpenApiParameter(name, {"type": "integer", "minimum": 0}, OpenApiParameter.PATH)


def post_schema(operation_id: str, id_name: str, responses: dict, request=None):
    """Describe a view's inherited POST in the OpenAPI schema (a class decorator).

    The operation ``operation_id`` on the path id ``id_name``, with the input ``request`` and the
    ``responses``; a subclass needs no ``post()`` of its own only to carry ``extend_schema``.
    """
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id, parameters=[path_id(id_name)], request=request, responses=responses
        )
    )
