"""The API's tasks: the user's inbox, one task with its form as a JSON schema, and submitting it.

The rules are the task pages' (:mod:`automations.views.worklist`): the same lookup of the tasks a
user may process, the same form class built with the node's arguments, the same submission.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from automations import delegation, registry
from automations.tasklist.queries import open_task_list_for
from automations.views.closed_tasks import TaskClosed, closed_description
from automations.views.start import task_for_user
from automations.views.worklist import HELD_MESSAGE, NOT_YOURS_MESSAGE, TaskHeld, find_task, submit, task_form

from . import describe
from .base import NOT_FOUND, REFUSED, APIBase, Pages, path_id
from .form_schema import form_schema
from .serializers import (
    DetailSerializer,
    FormErrorsSerializer,
    SubmittedSerializer,
    TaskDetailSerializer,
    TaskPageSerializer,
    TaskSerializer,
)

SECTIONS = ("mine", "queue", "snoozed")


def form_errors(form) -> dict:
    """Return ``{"errors": {field: [message, ...]}}`` of an invalid form (``__all__``: the others)."""
    return {
        "errors": {name: [str(message) for message in messages] for name, messages in form.errors.items()}
    }


def posted_fields(request) -> tuple[Any, Response | None]:
    """Return ``(fields, None)`` of a request's body for a form, or ``(None, a 400 response)`` saying why."""
    try:
        data = request.data
    except ParseError as exc:
        return None, Response({"errors": {"__all__": [str(exc.detail)]}}, status=status.HTTP_400_BAD_REQUEST)
    if not hasattr(data, "get"):
        message = _("Send the form's fields as a JSON object.")
        return None, Response({"errors": {"__all__": [message]}}, status=status.HTTP_400_BAD_REQUEST)
    return data, None


class InboxView(APIBase):
    """The open tasks the user may process, oldest first, a page at a time."""

    @extend_schema(
        operation_id="tasks_list",
        parameters=[
            OpenApiParameter(
                "section",
                str,
                enum=list(SECTIONS),
                description="mine: assigned to the user (or to a user they stand in for); queue: theirs "
                "through a group, a permission, or anybody's; snoozed: put aside for now. Without it: all.",
            ),
        ],
        responses={200: TaskPageSerializer, **REFUSED},
    )
    def get(self, request):
        represented = delegation.represented_by(request.user)
        tasks = [describe.task(task, request.user, represented) for task in open_task_list_for(request.user)]
        section = request.query_params.get("section")
        if section in SECTIONS:
            tasks = [task for task in tasks if task["section"] == section]
        pages = Pages()
        page = pages.paginate_queryset(tasks, request, view=self)
        return pages.get_paginated_response(TaskSerializer(page, many=True).data)


class TaskBase(APIBase):
    """Find the task of the url as the task page does: 404 for anybody who may not process it."""

    def find(self, request, task_id):
        """Return ``(task, node, automation)``; raise ``Http404``, or :class:`TaskClosed`."""
        task = find_task(request.user, task_id)
        if task is None:
            raise Http404(str(NOT_YOURS_MESSAGE))
        automation = task.automation.instance
        node = getattr(automation, registry.node_name(type(automation), task.status))
        return task, node, automation

    def handle_exception(self, exc):
        if isinstance(exc, TaskClosed):
            return Response({"detail": closed_description(exc.task)}, status=status.HTTP_410_GONE)
        if isinstance(exc, TaskHeld):  # somebody claimed it: as the task page, say who
            return Response({"detail": HELD_MESSAGE % {"user": exc.holder}}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


class TaskDetailView(TaskBase):
    """One open task of the user, with its form as a JSON schema."""

    @extend_schema(
        operation_id="tasks_retrieve",
        parameters=[path_id("task_id")],
        responses={
            200: TaskDetailSerializer,
            **REFUSED,
            **NOT_FOUND,
            409: DetailSerializer,
            410: DetailSerializer,
        },
    )
    def get(self, request, task_id: int):
        task, node, _automation = self.find(request, task_id)
        described = describe.task(task, request.user)
        described["form"] = form_schema(task_form(node, task))
        return Response(TaskDetailSerializer(described).data)


class SubmitView(TaskBase):
    """Submit the form of an open task: the field values as a JSON object, checked by the same form."""

    @extend_schema(
        operation_id="tasks_submit",
        parameters=[path_id("task_id")],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: SubmittedSerializer,
            400: FormErrorsSerializer,
            **REFUSED,
            **NOT_FOUND,
            409: OpenApiResponse(
                PolymorphicProxySerializer("Refusal", [FormErrorsSerializer, DetailSerializer], None),
                description="Not taken: the form's errors say why (the task closed or was claimed "
                "meanwhile), or a detail says who holds it.",
            ),
            410: DetailSerializer,
        },
    )
    def post(self, request, task_id: int):
        task, node, automation = self.find(request, task_id)
        data, refusal = posted_fields(request)
        if refusal is not None:
            return refusal
        form = task_form(node, task, data=data, files=request.FILES)
        if not form.is_valid():
            return Response(form_errors(form), status=status.HTTP_400_BAD_REQUEST)
        if not submit(automation, task, node, form, request.user):
            return Response(form_errors(form), status=status.HTTP_409_CONFLICT)
        model = type(task.automation).objects.get(pk=task.automation_id)
        following = task_for_user(model, request.user)
        answer = {
            "instance": model.pk,
            "status": model.status,
            "next_task": following.pk if following else None,
        }
        return Response(SubmittedSerializer(answer).data)
