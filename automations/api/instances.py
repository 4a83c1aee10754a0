"""The API's instances: the list with the console's filters, one instance, and the actions on it.

Seeing instances needs what the instances pages need (active, the view permission); acting needs
the change permission too. The actions go through :func:`automations.instance_actions.perform`, as
the console's do, with the same audit entries.
"""

from __future__ import annotations

import logging

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from automations import instance_actions
from automations.models import AutomationModel
from automations.views.instances import STATE_ALIASES, STATES, filter_instances

from . import describe
from .base import (
    NOT_FOUND,
    REFUSED,
    APIBase,
    MayChangeInstances,
    MayViewInstances,
    Pages,
    path_id,
    post_schema,
)
from .serializers import (
    ActionDoneSerializer,
    CancelSerializer,
    DetailSerializer,
    InstanceDetailSerializer,
    InstancePageSerializer,
    InstanceSerializer,
    MessageSerializer,
)

logger = logging.getLogger("automations.api")


class InstanceListView(APIBase):
    """Automation instances, newest first, filtered as on the instances page."""

    permission_classes = [MayViewInstances]

    @extend_schema(
        operation_id="instances_list",
        parameters=[
            OpenApiParameter("automation", str, description="The dotted path of an automation class."),
            OpenApiParameter("state", str, enum=[*STATES, *STATE_ALIASES], description="A status."),
            OpenApiParameter("q", str, description="Searches the data, the keys, and #12 the number."),
        ],
        responses={200: InstancePageSerializer, **REFUSED},
    )
    def get(self, request):
        found = filter_instances(request.query_params)
        pages = Pages()
        page = pages.paginate_queryset(found.queryset, request, view=self)
        rows = [describe.instance_summary(model) for model in page]
        return pages.get_paginated_response(InstanceSerializer(rows, many=True).data)


class InstanceDetailView(APIBase):
    """One instance: its status, data, where it stands, its history and the actions that apply."""

    permission_classes = [MayViewInstances]

    @extend_schema(
        operation_id="instances_retrieve",
        parameters=[path_id("instance_id")],
        responses={200: InstanceDetailSerializer, **REFUSED, **NOT_FOUND},
    )
    def get(self, request, instance_id: int):
        model = get_object_or_404(AutomationModel, pk=instance_id)
        return Response(InstanceDetailSerializer(describe.instance(model, request.user)).data)


ACTION_RESPONSES = {
    200: ActionDoneSerializer,
    400: DetailSerializer,
    **REFUSED,
    **NOT_FOUND,
    409: DetailSerializer,
    422: DetailSerializer,
}


def action_schema(operation_id: str, request=None):
    """Describe an action view's POST in the OpenAPI schema: ``operation_id``, the input ``request``."""
    return post_schema(operation_id, "instance_id", ACTION_RESPONSES, request)


def valid_input(serializer_class, request) -> dict:
    """Return the action's parameters; raise ``InvalidActionInput`` with every problem in one sentence."""
    serializer = serializer_class(data=request.data)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    problems = [f"{name}: {' '.join(map(str, errors))}" for name, errors in serializer.errors.items()]
    raise instance_actions.InvalidActionInput(" ".join(problems))


class ActionView(APIBase):
    """Carry out :attr:`action` on an instance for the user (POST); the instance as it stands after."""

    permission_classes = [MayChangeInstances]
    action = ""

    def parameters(self, request) -> dict:
        """Return the action's parameters from the request (none by default)."""
        return {}

    def post(self, request, instance_id: int):
        model = get_object_or_404(AutomationModel, pk=instance_id)
        try:
            params = self.parameters(request)
            done = instance_actions.perform(model, self.action, request.user, **params)
        except instance_actions.InvalidActionInput as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        except instance_actions.ActionNotPossible as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except Exception as exc:  # a receiver's own error: tell the client, as the console tells a person
            logger.exception("Action %s on instance %s failed.", self.action, model.pk)
            failed = _("The action failed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"[:200]}
            return Response({"detail": failed}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        model = AutomationModel.objects.get(pk=model.pk)
        answer = {"detail": done, "instance": describe.instance(model, request.user)}
        return Response(ActionDoneSerializer(answer).data)


@action_schema("instances_wake")
class WakeView(ActionView):
    """Advance a running instance now; nodes waiting for a time or a condition check it again."""

    action = "wake"


@action_schema("instances_retry")
class RetryView(ActionView):
    """Clear the error of a failed instance and run its failed node again."""

    action = "retry"


@action_schema("instances_cancel", request=CancelSerializer)
class CancelView(ActionView):
    """Stop an instance for good, with a reason; its open tasks are closed, its history kept."""

    action = "cancel"

    def parameters(self, request) -> dict:
        return valid_input(CancelSerializer, request)


@action_schema("instances_message", request=MessageSerializer)
class MessageView(ActionView):
    """Send a running instance a message: its receiver runs at once with the data given."""

    action = "message"

    def parameters(self, request) -> dict:
        return valid_input(MessageSerializer, request)
