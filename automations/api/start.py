"""The API's start menu: the automation classes a user may start, and starting one with data.

The rules are the start pages' (:mod:`automations.views.start`): the same classes for the same
users, the same start form checking the data, the same start.
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from automations import registry
from automations.starting import may_start, start_declaration
from automations.views.start import start_instance, startable_for, task_for_user

from . import describe
from .base import NOT_FOUND, REFUSED, APIBase
from .form_schema import form_schema
from .serializers import FormErrorsSerializer, RunningSerializer, StartableSerializer, StartedSerializer
from .tasks import form_errors, posted_fields


class StartableListView(APIBase):
    """The automation classes the user may start, each with its start form as a JSON schema."""

    @extend_schema(
        operation_id="automations_list", responses={200: StartableSerializer(many=True), **REFUSED}
    )
    def get(self, request):
        entries = [
            describe.startable(entry, form_schema(start_declaration(entry.automation_class).form()))
            for entry in startable_for(request.user)
        ]
        return Response(StartableSerializer(entries, many=True).data)


class StartView(APIBase):
    """Start an automation class with the start form's fields as a JSON object."""

    @extend_schema(
        operation_id="automations_start",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            201: StartedSerializer,
            400: FormErrorsSerializer,
            **REFUSED,
            **NOT_FOUND,
            409: RunningSerializer,
        },
    )
    def post(self, request, class_path: str):
        try:
            automation_class = registry.get(class_path)
        except registry.UnknownAutomationError:
            raise Http404(_("No automation can be started at this address.")) from None
        declaration = start_declaration(automation_class)
        if declaration is None:
            raise Http404(_("No automation can be started at this address."))
        if not may_start(request.user, automation_class):
            raise PermissionDenied(
                _("You may not start %(name)s. Ask an administrator if you think you should.")
                % {"name": automation_class.get_verbose_name()}
            )
        data, refusal = posted_fields(request)
        if refusal is not None:
            return refusal
        form = declaration.form(data=data, files=request.FILES)
        if not form.is_valid():
            return Response(form_errors(form), status=status.HTTP_400_BAD_REQUEST)
        model, created = start_instance(automation_class, declaration, form, request.user)
        if model is None:
            return Response(form_errors(form), status=status.HTTP_400_BAD_REQUEST)
        if not created:
            detail = _("An instance with the same data runs already.")
            return Response({"detail": detail, "instance": model.pk}, status=status.HTTP_409_CONFLICT)
        following = task_for_user(model, request.user)
        answer = {
            "instance": describe.instance_summary(model),
            "next_task": following.pk if following else None,
        }
        return Response(StartedSerializer(answer).data, status=status.HTTP_201_CREATED)
