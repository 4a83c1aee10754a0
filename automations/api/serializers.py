"""The shapes of the API's requests and responses, for Django REST framework and the OpenAPI schema.

The responses are the dicts of :mod:`automations.api.describe` passed through these serializers,
which keep only the fields declared here: what the schema promises is what a client gets.
"""

from __future__ import annotations

from rest_framework import serializers

from automations import instance_actions
from automations.tasklist.inbox import SNOOZES


class TaskSerializer(serializers.Serializer):
    """An open form task in the inbox of the user who asks."""

    id = serializers.IntegerField()
    instance = serializers.IntegerField(help_text="The id of the automation instance.")
    automation_class = serializers.CharField(help_text="The dotted path of the automation class.")
    automation_name = serializers.CharField()
    node = serializers.CharField(help_text="The name of the form node the task waits at.")
    description = serializers.CharField(allow_blank=True)
    summary = serializers.CharField(allow_blank=True)
    section = serializers.ChoiceField(
        choices=["mine", "queue", "snoozed"],
        help_text="mine: assigned to the user (or to a user they stand in for); queue: theirs through a "
        "group, a permission, or anybody's; snoozed: put aside until snoozed_until.",
    )
    assigned_to = serializers.CharField(allow_null=True, help_text="The user name of the task's holder.")
    snoozed_until = serializers.DateTimeField(allow_null=True)
    urgency = serializers.ChoiceField(choices=["fresh", "due", "late"])
    created = serializers.DateTimeField()
    url = serializers.CharField(allow_null=True, help_text="The task's HTML page.")


class TaskDetailSerializer(TaskSerializer):
    """An open form task with its form as a JSON schema."""

    form = serializers.DictField(
        help_text="A JSON schema of the form: properties (type, title, oneOf choices, default), required."
    )


class SubmittedSerializer(serializers.Serializer):
    """What became of the instance after a taken submission."""

    instance = serializers.IntegerField()
    status = serializers.CharField()
    next_task = serializers.IntegerField(
        allow_null=True, help_text="An open task of the same instance the user may process now."
    )


class FormErrorsSerializer(serializers.Serializer):
    """A form that did not validate: its errors by field; ``__all__`` holds the others."""

    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class DetailSerializer(serializers.Serializer):
    """Why a request was refused."""

    detail = serializers.CharField()


class PositionSerializer(serializers.Serializer):
    """Where one path of an instance stands: an open task."""

    task = serializers.IntegerField()
    node = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    since = serializers.DateTimeField()
    path = serializers.CharField(allow_blank=True)
    is_form = serializers.BooleanField()
    may_process = serializers.BooleanField(help_text="Whether the user who asks may process this task.")


class HistorySerializer(serializers.Serializer):
    """A node an instance visited (``kind: node``) or an action a person took (``kind: action``)."""

    kind = serializers.ChoiceField(choices=["node", "action"])
    at = serializers.DateTimeField()
    node = serializers.CharField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    failed = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    action = serializers.CharField(allow_null=True)
    user = serializers.CharField(allow_null=True, allow_blank=True)
    reason = serializers.CharField(allow_blank=True)


class InstanceSerializer(serializers.Serializer):
    """An automation instance in a list."""

    id = serializers.IntegerField()
    automation_class = serializers.CharField()
    automation_name = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    key = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()
    finished = serializers.BooleanField()
    url = serializers.CharField(allow_null=True, help_text="The instance's HTML page.")


class InstanceDetailSerializer(InstanceSerializer):
    """One automation instance: its data, where it stands, its history and the actions that apply."""

    data = serializers.JSONField()
    wake_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    cancel_reason = serializers.CharField(allow_blank=True)
    positions = PositionSerializer(many=True)
    history = HistorySerializer(many=True)
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(instance_actions.ACTIONS)),
        help_text="The actions the user who asks may take now (empty without the change permission).",
    )


class ActionDoneSerializer(serializers.Serializer):
    """An action carried out: what happened, and the instance as it stands now."""

    detail = serializers.CharField()
    instance = InstanceDetailSerializer()


class CancelSerializer(serializers.Serializer):
    """Why the instance is cancelled (kept in its history, with the user's name)."""

    reason = serializers.CharField(max_length=instance_actions.REASON_LENGTH)


class MessageSerializer(serializers.Serializer):
    """A message for the instance: the receiver's name, a token, and the receiver's data."""

    message = serializers.CharField(help_text="The name after receive_ of one of the class's receivers.")
    token = serializers.CharField(required=False, allow_blank=True, default="")
    data = serializers.DictField(required=False, default=dict)


class StartableSerializer(serializers.Serializer):
    """An automation class the user may start, with its start form as a JSON schema."""

    automation_class = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    form = serializers.DictField()


class StartedSerializer(serializers.Serializer):
    """The instance a start created, and the task of it the user may process now, if any."""

    instance = InstanceSerializer()
    next_task = serializers.IntegerField(allow_null=True)


class RunningSerializer(serializers.Serializer):
    """A ``unique`` automation's instance with the same data runs already: not started again."""

    detail = serializers.CharField()
    instance = serializers.IntegerField()


class PageSerializer(serializers.Serializer):
    """One page of a list: ``?page=<n>``, ``?page_size=<n>``."""

    count = serializers.IntegerField(help_text="How many items all pages hold.")
    next = serializers.URLField(allow_null=True, help_text="The next page's URL.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page's URL.")


class TaskPageSerializer(PageSerializer):
    """A page of the inbox."""

    results = TaskSerializer(many=True)


class InstancePageSerializer(PageSerializer):
    """A page of instances."""

    results = InstanceSerializer(many=True)


class SnoozeSerializer(serializers.Serializer):
    """Until when a task is put aside: ``until``, else one of the inbox's choices (default ``tomorrow``)."""

    until = serializers.DateTimeField(required=False)
    snooze = serializers.ChoiceField(choices=list(SNOOZES), required=False, default="tomorrow")


class ReassignSerializer(serializers.Serializer):
    """To whom a task goes: a user by user name, or a group by id (one of them)."""

    username = serializers.CharField(required=False, allow_blank=True)
    group = serializers.IntegerField(required=False, allow_null=True)


class DelegationSerializer(serializers.Serializer):
    """A substitute who acts for a user while they are away."""

    id = serializers.IntegerField()
    user = serializers.CharField()
    substitute = serializers.CharField()
    starts = serializers.DateTimeField()
    ends = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)


class NewDelegationSerializer(serializers.Serializer):
    """A new delegation: the substitute's user name, when it ends (and starts), for whom (default: you)."""

    substitute = serializers.CharField()
    ends = serializers.DateTimeField()
    starts = serializers.DateTimeField(required=False)
    user = serializers.CharField(required=False, help_text="The user name of who is away; default: you.")
