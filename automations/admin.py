"""The admin of automation instances and their tasks.

Instances can be filtered by class and status and searched in their data; their tasks and audit
entries are shown inline. The admin actions are the instance page's
(:mod:`automations.instance_actions`): wake now, retry from the failed node, cancel (the console's
confirmation page asks for the reason); "send a message" opens the instance page's form. Each
writes an audit entry. Tasks can be reassigned (user, group) on their own page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.fields import InvalidJSONInput
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from automations import instance_actions, jsonlimits
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel
from automations.views.instances import STATES, filter_state, has_nul, pretty_json, verbose_name_of


class LimitedJSONField(forms.JSONField):
    """A JSON form field that keeps the rules of data from outside (:mod:`automations.jsonlimits`).

    Django's own field lets a ``RecursionError`` of the parser through (a server error); here JSON
    nested too deep or too large is a validation error like any other.
    """

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values and not self.disabled:
            try:
                jsonlimits.loads(value)
            except jsonlimits.UnfitJSONError as exc:
                error = _("This value %(error)s.")
                raise ValidationError(error, code="invalid", params={"error": exc}) from exc
        return super().to_python(value)

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)


class RefusesNulChangeList(ChangeList):
    """A change list whose search or filters hold a NUL character shows no rows (PostgreSQL refuses NUL)."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.none() if has_nul(request.GET) else queryset


class SafeInputAdmin(admin.ModelAdmin):
    """What the admins of instances and tasks share: search and filters that refuse NUL, limited JSON."""

    formfield_overrides = {models.JSONField: {"form_class": LimitedJSONField}}

    def get_changelist(self, request, **kwargs):
        return RefusesNulChangeList


class StateFilter(admin.SimpleListFilter):
    """The instances' lifecycle status (``AutomationModel.status``)."""

    title = _("status")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return list(STATES.items())

    def queryset(self, request, queryset):
        return filter_state(queryset, self.value()) if self.value() in STATES else queryset


class AutomationClassFilter(admin.SimpleListFilter):
    """The automation classes that have instances, by their verbose names."""

    title = _("automation")
    parameter_name = "automation_class"

    def lookups(self, request, model_admin):
        paths = AutomationModel.objects.values_list("automation_class", flat=True).distinct()
        return sorted(((path, verbose_name_of(path)) for path in paths), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(automation_class=self.value()) if self.value() else queryset


class TaskInlineForm(forms.ModelForm):
    """A task row of an instance's admin page, whose inputs say which task they belong to.

    A tabular inline names its columns in headers that label no input: each visible input gets an
    ``aria-label`` such as "Assigned user of approval", so that screen readers can name it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        node = self.instance.status if self.instance.pk else ""
        for field in self.fields.values():
            if field.widget.is_hidden:
                continue
            label = _("%(field)s of %(node)s") % {"field": field.label, "node": node} if node else field.label
            field.widget.attrs.setdefault("aria-label", label)


class TaskInline(admin.TabularInline):
    model = AutomationTaskModel
    form = TaskInlineForm
    fields = [
        "status",
        "created",
        "finished",
        "message",
        "finished_by",
        "interaction_user",
        "interaction_group",
    ]
    readonly_fields = ["status", "created", "finished", "message", "finished_by"]
    raw_id_fields = ["interaction_user", "interaction_group"]
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["pk"]

    def has_add_permission(self, request, obj=None):
        return False


class AuditEntryInline(admin.TabularInline):
    model = AuditEntry
    readonly_fields = ("created", "username", "action", "reason")
    fields = readonly_fields
    extra = 0
    can_delete = False
    ordering = ["created", "pk"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _run_action(modeladmin, request, queryset, action):
    done, refused = instance_actions.perform_many(queryset, action, request.user)
    if done:
        modeladmin.message_user(
            request,
            ngettext(
                "%(action)s: done for %(count)d instance.",
                "%(action)s: done for %(count)d instances.",
                len(done),
            )
            % {"action": instance_actions.ACTIONS[action].label, "count": len(done)},
            messages.SUCCESS,
        )
    for pk, why in refused:
        modeladmin.message_user(request, f"#{pk}: {why}", messages.WARNING)


@admin.action(description=_("Wake now"), permissions=["change"])
def wake_now(modeladmin, request, queryset):
    _run_action(modeladmin, request, queryset, "wake")


@admin.action(description=_("Retry from the failed node"), permissions=["change"])
def retry_failed(modeladmin, request, queryset):
    _run_action(modeladmin, request, queryset, "retry")


@admin.action(description=_("Cancel (stop for good, with a reason)…"), permissions=["change"])
def cancel(modeladmin, request, queryset):
    """Open the console's confirmation page, which asks for the reason, for the selected instances."""
    ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[: instance_actions.BULK_LIMIT])
    query = urlencode({"ids": ids, "next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse('automations:bulk_action', args=['cancel'])}?{query}")


@admin.action(description=_("Send a message…"), permissions=["change"])
def send_message(modeladmin, request, queryset):
    """Open the instance page's message form for the one selected instance."""
    models = list(queryset[:2])
    if len(models) != 1:
        modeladmin.message_user(
            request, _("Select exactly one instance to send a message to."), messages.WARNING
        )
        return None
    return HttpResponseRedirect(reverse("automations:instance_action", args=[models[0].pk, "message"]))


@admin.register(AutomationModel)
class AutomationModelAdmin(SafeInputAdmin):
    list_display = ["id", "automation_name", "state", "created", "updated", "wake_at"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        inputs = getattr(field.widget, "widgets", ()) if field is not None else ()
        if db_field.name == "wake_at" and len(inputs) == 2:
            # The admin's split date and time inputs have no labels of their own (Django 5.2).
            inputs[0].attrs["aria-label"] = _("wake at: date")
            inputs[1].attrs["aria-label"] = _("wake at: time")
        return field

    list_filter = [AutomationClassFilter, StateFilter, "created"]
    search_fields = ["=id", "automation_class", "key", "data", "error"]
    readonly_fields = [
        "automation_class",
        "key",
        "created",
        "updated",
        "status",
        "finished",
        "readable_data",
        "error",
        "instance_page",
    ]
    fields = [
        "automation_class",
        "instance_page",
        "key",
        "created",
        "updated",
        "wake_at",
        "status",
        "finished",
        "error",
        "readable_data",
    ]
    inlines = [TaskInline, AuditEntryInline]
    actions = [wake_now, retry_failed, cancel, send_message]
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False  # instances are started by their automation classes

    list_per_page = 50

    @admin.display(description=_("automation"), ordering="automation_class")
    def automation_name(self, obj):
        return verbose_name_of(obj.automation_class)

    @admin.display(description=_("status"), ordering="status")
    def state(self, obj):
        return obj.get_status_display()

    @admin.display(description=_("data"))
    def readable_data(self, obj):
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', pretty_json(obj.data))

    @admin.display(description=_("instance page"))
    def instance_page(self, obj):
        try:
            url = reverse("automations:instance", args=[obj.pk])
        except NoReverseMatch:
            return "-"
        return format_html('<a href="{}">{}</a>', url, _("Open the instance page"))


@admin.register(AutomationTaskModel)
class AutomationTaskModelAdmin(SafeInputAdmin):
    list_display = [
        "id",
        "automation",
        "status",
        "created",
        "finished",
        "finished_by",
        "interaction_user",
        "interaction_group",
    ]
    list_filter = ["finished", "automation__automation_class", "status"]
    search_fields = ["=automation__id", "status", "message"]
    raw_id_fields = ["automation", "interaction_user", "interaction_group", "finished_by"]
    readonly_fields = [
        "automation",
        "status",
        "created",
        "finished",
        "message",
        "path",
        "readable_result",
        "finished_by",
    ]
    fields = [
        "automation",
        "status",
        "path",
        "created",
        "finished",
        "finished_by",
        "message",
        "readable_result",
        "interaction_user",
        "interaction_group",
        "interaction_permissions",
    ]
    list_select_related = ["automation", "finished_by", "interaction_user", "interaction_group"]

    @admin.display(description=_("result"))
    def readable_result(self, obj):
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', pretty_json(obj.result))

    def has_add_permission(self, request):
        return False
