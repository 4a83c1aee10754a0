"""A token for a user name and password (Django REST framework's ``authtoken``), for API clients."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken


class TokenView(ObtainAuthToken):
    """POST a user name and password; get the user's token (``Authorization: Token <token>``)."""

    schema = AutoSchema()

    @extend_schema(
        operation_id="token_create",
        responses={
            200: inline_serializer("Token", {"token": serializers.CharField()}),
            400: OpenApiTypes.OBJECT,
        },
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
