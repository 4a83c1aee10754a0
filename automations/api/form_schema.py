"""A Django form as a JSON schema: its fields, their types, choices, limits, initial values and labels.

An API client builds its own form from this, and sends back an object the same form class then
validates: the rules stay the form's. Each property carries ``title`` (the label), ``description``
(the help text), ``default`` (the initial value) and ``x-widget`` (the kind of input the HTML form
shows); ``oneOf`` lists the choices with their labels. Fields a JSON schema cannot describe in
detail (a project's own) are typed ``string``.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

from django import forms
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

# Checked in this order: subclasses before their bases.
FIELD_TYPES: list[tuple[type, dict[str, Any]]] = [
    (forms.NullBooleanField, {"type": ["boolean", "null"]}),
    (forms.BooleanField, {"type": "boolean"}),
    (forms.ModelMultipleChoiceField, {"type": "array"}),
    (forms.ModelChoiceField, {}),
    (forms.MultipleChoiceField, {"type": "array"}),
    (forms.TypedChoiceField, {}),
    (forms.ChoiceField, {"type": "string"}),
    (forms.DecimalField, {"type": "string", "format": "decimal"}),
    (forms.FloatField, {"type": "number"}),
    (forms.IntegerField, {"type": "integer"}),
    (forms.DateTimeField, {"type": "string", "format": "date-time"}),
    (forms.DateField, {"type": "string", "format": "date"}),
    (forms.TimeField, {"type": "string", "format": "time"}),
    (forms.DurationField, {"type": "string", "format": "duration"}),
    (forms.EmailField, {"type": "string", "format": "email"}),
    (forms.URLField, {"type": "string", "format": "uri"}),
    (forms.UUIDField, {"type": "string", "format": "uuid"}),
    (forms.JSONField, {}),
    (forms.FileField, {"type": "string", "format": "binary"}),
]


def form_schema(form: forms.BaseForm) -> dict[str, Any]:
    """Return the JSON schema of the (unbound or bound) ``form``: an object with one property per field."""
    properties = {name: field_schema(form[name]) for name in form.fields}
    required = [name for name, field in form.fields.items() if field.required and not field.disabled]
    return {"type": "object", "properties": properties, "required": required}


def field_schema(bound: forms.BoundField) -> dict[str, Any]:
    """Return the JSON schema of one bound field of a form."""
    field = bound.field
    schema: dict[str, Any] = {}
    for field_class, described in FIELD_TYPES:
        if isinstance(field, field_class):
            schema.update(described)
            break
    else:
        schema["type"] = "string"
    schema["title"] = str(bound.label)
    if field.help_text:
        schema["description"] = str(field.help_text)
    if field.disabled:
        schema["readOnly"] = True
    schema["x-widget"] = type(field.widget).__name__
    schema.update(_limits(field))
    choices = _choices(field)
    if choices is not None:
        if schema.get("type") == "array":
            schema["items"] = {"oneOf": choices}
        else:
            schema["oneOf"] = choices
    initial = bound.initial
    if initial not in (None, "", [], ()):
        schema["default"] = jsonable(initial)
    return schema


def _limits(field: forms.Field) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for attribute, key in (("max_length", "maxLength"), ("min_length", "minLength")):
        if getattr(field, attribute, None) is not None:
            limits[key] = getattr(field, attribute)
    for attribute, key in (("max_value", "maximum"), ("min_value", "minimum")):
        value = getattr(field, attribute, None)
        if isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
            limits[key] = value if not isinstance(value, decimal.Decimal) else str(value)
    return limits


def _choices(field: forms.Field) -> list[dict[str, Any]] | None:
    if not isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        return None
    choices: list[dict[str, Any]] = []
    declared: Any = field.choices  # normalized by the field: pairs, or named groups of pairs
    for value, label in declared:
        if isinstance(label, list | tuple):  # a named group of choices
            choices.extend({"const": jsonable(v), "title": str(text)} for v, text in label)
        elif value not in ("", None):
            choices.append({"const": jsonable(value), "title": str(label)})
    return choices


def jsonable(value: Any) -> Any:
    """Return ``value`` as JSON values: model instances by id, dates ISO strings, decimals strings."""
    if callable(value):
        value = value()
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "value") and hasattr(value, "instance"):  # a ModelChoiceIteratorValue
        return jsonable(value.value)
    if isinstance(value, models.QuerySet):
        return [jsonable(pk) for pk in value.values_list("pk", flat=True)]
    if isinstance(value, list | tuple | set):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime.date | datetime.time | datetime.timedelta | decimal.Decimal | uuid.UUID):
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False))
    except (TypeError, ValueError):
        return str(value)
