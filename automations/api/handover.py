"""The API's hand-overs: claim, unassign, reassign, snooze and wake a task; delegation while away.

Every action calls :mod:`automations.handover`, as the inbox's buttons and the hand-over page do:
its rules, its audit lines, its live updates. A task is found (else 404) for those who may
process it, who could if its claim ended, and those who may manage it (its holder, holders of
``automations.reassign_task``, staff); the hand-over function then says whether they may do this
(403) and whether it applies to the task now (409).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from automations import handover
from automations.models import AutomationTaskModel, Delegation
from automations.permissions import form_node_for, group_model, may_process
from automations.tasklist.inbox import snooze_end
from automations.views.worklist import NOT_YOURS_MESSAGE, taken_from

from . import describe
from .base import NOT_FOUND, REFUSED, APIBase, path_id, post_schema
from .serializers import (
    DelegationSerializer,
    DetailSerializer,
    FormErrorsSerializer,
    NewDelegationSerializer,
    ReassignSerializer,
    SnoozeSerializer,
    TaskSerializer,
)

HANDOVER_RESPONSES = {
    200: TaskSerializer,
    400: FormErrorsSerializer,
    **REFUSED,
    **NOT_FOUND,
    409: DetailSerializer,
}


def handover_schema(operation_id: str, request=None):
    """Describe a hand-over view's POST in the OpenAPI schema: ``operation_id``, the input ``request``."""
    return post_schema(operation_id, "task_id", HANDOVER_RESPONSES, request)


def handover_task(user, task_id):
    """Return the open form task ``task_id`` if ``user`` may act on it in any way; raise ``Http404``."""
    task = (
        AutomationTaskModel.objects.select_related("automation", "interaction_user")
        .filter(pk=task_id)
        .first()
    )
    node = form_node_for(task) if task is not None else None
    if node is None or task.finished is not None or not task.automation.is_active:
        raise Http404(str(NOT_YOURS_MESSAGE))
    if not (
        may_process(user, task, node=node) or handover.may_manage(user, task) or taken_from(user, task, node)
    ):
        raise Http404(str(NOT_YOURS_MESSAGE))
    return task


def invalid(serializer) -> Response:
    """Return the 400 answer of input that did not validate, in the forms' shape."""
    errors = {name: [str(message) for message in messages] for name, messages in serializer.errors.items()}
    return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)


class HandoverView(APIBase):
    """Carry out a hand-over on one task (POST); answer the task as the user sees it now."""

    def act(self, request, task):
        """Carry out the hand-over; return ``None``, or a response that refuses the input."""
        raise NotImplementedError

    def post(self, request, task_id: int):
        task = handover_task(request.user, task_id)
        try:
            refusal = self.act(request, task)
        except handover.HandoverForbidden as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except handover.HandoverError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if refusal is not None:
            return refusal
        task = AutomationTaskModel.objects.select_related("automation", "interaction_user").get(pk=task.pk)
        return Response(TaskSerializer(describe.task(task, request.user)).data)


@handover_schema("tasks_claim")
class ClaimView(HandoverView):
    """Take a queued task: it is assigned to you, leaves the others' queues, and only you may submit it."""

    def act(self, request, task):
        handover.claim(request.user, task)


@handover_schema("tasks_unassign")
class UnassignView(HandoverView):
    """Give a claimed task back to its queue (its holder, or a manager)."""

    def act(self, request, task):
        handover.unassign(request.user, task)


@handover_schema("tasks_reassign", request=ReassignSerializer)
class ReassignView(HandoverView):
    """Hand a task to a user (by user name) or to a group (by id)."""

    def act(self, request, task):
        given = ReassignSerializer(data=request.data)
        if not given.is_valid():
            return invalid(given)
        name, group_id = given.validated_data.get("username") or "", given.validated_data.get("group")
        if bool(name) == (group_id is not None):
            message = _("Give a user name or choose a group (one of them).")
            return Response({"errors": {"__all__": [message]}}, status=status.HTTP_400_BAD_REQUEST)
        if name:
            users = get_user_model()._default_manager
            target = users.filter(**{get_user_model().USERNAME_FIELD: name}, is_active=True).first()
            if target is None:
                message = _("There is no active user %(name)s.") % {"name": name}
                return Response({"errors": {"username": [message]}}, status=status.HTTP_400_BAD_REQUEST)
            handover.reassign(request.user, task, to_user=target)
        else:
            group = group_model()._default_manager.filter(pk=group_id).first()
            if group is None:
                message = _("There is no such group.")
                return Response({"errors": {"group": [message]}}, status=status.HTTP_400_BAD_REQUEST)
            handover.reassign(request.user, task, to_group=group)
        return None


@handover_schema("tasks_snooze", request=SnoozeSerializer)
class SnoozeView(HandoverView):
    """Put a task aside until a time; it comes back into the inbox by itself then."""

    def act(self, request, task):
        given = SnoozeSerializer(data=request.data)
        if not given.is_valid():
            return invalid(given)
        until = given.validated_data.get("until") or snooze_end(given.validated_data["snooze"])
        handover.snooze(request.user, task, until)
        return None


@handover_schema("tasks_wake")
class WakeTaskView(HandoverView):
    """End a task's snooze now: it is back in the inbox."""

    def act(self, request, task):
        handover.snooze(request.user, task, None)


class DelegationListView(APIBase):
    """Your delegations, running or to come: as the user who is away, and as the substitute."""

    @extend_schema(
        operation_id="delegations_list", responses={200: DelegationSerializer(many=True), **REFUSED}
    )
    def get(self, request):
        rows = Delegation.objects.filter(ends__gt=timezone.now()).select_related(
            "user", "substitute", "created_by"
        )
        mine = rows.filter(user=request.user.pk) | rows.filter(substitute=request.user.pk)
        delegations = [describe.delegation_row(row) for row in mine.order_by("starts", "pk")]
        return Response(DelegationSerializer(delegations, many=True).data)

    @extend_schema(
        operation_id="delegations_create",
        request=NewDelegationSerializer,
        responses={201: DelegationSerializer, 400: FormErrorsSerializer, **REFUSED, 409: DetailSerializer},
    )
    def post(self, request):
        given = NewDelegationSerializer(data=request.data)
        if not given.is_valid():
            return invalid(given)
        data = given.validated_data
        users = get_user_model()._default_manager
        field = get_user_model().USERNAME_FIELD
        named = {}
        for key in ("user", "substitute"):
            name = data.get(key)
            if key == "user" and not name:
                named[key] = request.user
                continue
            named[key] = users.filter(**{field: name}, is_active=True).first()
            if named[key] is None:
                message = _("There is no active user %(name)s.") % {"name": name}
                return Response({"errors": {key: [message]}}, status=status.HTTP_400_BAD_REQUEST)
        try:
            made = handover.delegate(
                named["user"], named["substitute"], data["ends"], starts=data.get("starts"), by=request.user
            )
        except handover.HandoverForbidden as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except handover.HandoverError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(
            DelegationSerializer(describe.delegation_row(made)).data, status=status.HTTP_201_CREATED
        )


class EndDelegationView(APIBase):
    """End a delegation now (or drop it if it has not started)."""

    @extend_schema(
        operation_id="delegations_end",
        parameters=[path_id("delegation_id")],
        request=None,
        responses={200: DetailSerializer, **REFUSED, **NOT_FOUND},
    )
    def post(self, request, delegation_id: int):
        row = get_object_or_404(Delegation, pk=delegation_id)
        try:
            handover.end_delegation(request.user, row)
        except handover.HandoverForbidden as exc:
            if request.user.pk not in (row.user_id, row.substitute_id):
                raise Http404(_("No delegation of yours has this number.")) from exc
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response({"detail": _("The delegation ended.")})
