"""The admin of automation instances and their tasks.

Instances can be filtered by class and status and searched in their data; their tasks and audit
entries are shown inline. The admin actions are the instance page's
(:mod:`automations.instance_actions`): wake now, retry from the failed node, cancel (the console's
confirmation page asks for the reason); "send a message" opens the instance page's form. Each
writes an audit entry. Tasks are handed over with the actions "give back to the queue" and "end
the snooze" (:mod:`automations.handover`, with its rules) and on the hand-over page each task
links to; an assignment edited by hand on a task's own page is written to the audit too.
Delegations and notification opt-outs have pages of their own: a delegation is made and ended
through :mod:`automations.handover` (so both are audited), never changed or deleted by hand. All
audit entries, those about no instance (delegations) included, are listed read-only.
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
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from automations import handover, instance_actions, jsonlimits
from automations.models import (
    AuditEntry,
    AutomationModel,
    AutomationTaskModel,
    Delegation,
    NotificationOptOut,
)
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
        "snoozed_until",
        "hand_over",
    ]
    list_filter = ["finished", "automation__automation_class", "status"]
    actions = ["give_back", "end_snooze"]
    search_fields = ["=automation__id", "status", "message"]
    raw_id_fields = ["automation", "interaction_user", "interaction_group", "finished_by"]
    readonly_fields = [
        "automation",
        "status",
        "created",
        "finished",
        "deadline",
        "deadline_reminded",
        "message",
        "path",
        "readable_result",
        "finished_by",
        "snoozed_until",  # snoozed and woken through automations.handover (the inbox, the action here)
    ]
    fields = [
        "automation",
        "status",
        "path",
        "created",
        "deadline",
        "deadline_reminded",
        "finished",
        "finished_by",
        "message",
        "readable_result",
        "interaction_user",
        "interaction_group",
        "interaction_permissions",
        "snoozed_until",
    ]
    list_select_related = ["automation", "finished_by", "interaction_user", "interaction_group"]

    @admin.display(description=_("hand over"))
    def hand_over(self, obj):
        if obj.finished is not None:
            return "-"
        try:
            url = reverse("automations:task_reassign", args=[obj.pk])
        except NoReverseMatch:
            return "-"
        return format_html('<a href="{}">{}</a>', url, _("Hand over…"))

    def _hand_over_each(self, request, queryset, act, done_text):
        done, refused = 0, []
        for task in queryset.filter(finished=None).order_by("pk"):
            try:
                act(request.user, task)
            except handover.HandoverError as exc:
                refused.append(f"#{task.pk}: {exc}")
            else:
                done += 1
        if done:
            self.message_user(request, done_text % {"count": done}, messages.SUCCESS)
        if refused:
            self.message_user(request, " ".join(refused), messages.ERROR)

    @admin.action(description=_("Give the selected tasks back to their queue"))
    def give_back(self, request, queryset):
        done_text = _("%(count)d tasks given back to the queue.")
        self._hand_over_each(request, queryset, handover.unassign, done_text)

    @admin.action(description=_("End the snooze of the selected tasks"))
    def end_snooze(self, request, queryset):
        def wake(user, task):
            return handover.snooze(user, task, None)

        self._hand_over_each(request, queryset, wake, _("%(count)d tasks back in the lists."))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [name for name in ("interaction_user", "interaction_group") if name in form.changed_data]
        if change and changed:  # an edit by hand: the same audit line as a hand-over
            to = obj.interaction_user or obj.interaction_group or "-"
            instance_actions.audit(
                obj.automation, request.user, AuditEntry.REASSIGN, node=obj.status, task=obj.pk, to=str(to)
            )

    @admin.display(description=_("result"))
    def readable_result(self, obj):
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', pretty_json(obj.result))

    def has_add_permission(self, request):
        return False


class DelegationForm(forms.ModelForm):
    """A delegation, checked as :func:`automations.handover.delegate` checks one (``acting_user`` set)."""

    acting_user = None

    class Meta:
        model = Delegation
        fields = ["user", "substitute", "starts", "ends"]

    def clean(self):
        cleaned = super().clean()
        user, substitute = cleaned.get("user"), cleaned.get("substitute")
        starts, ends = cleaned.get("starts"), cleaned.get("ends")
        if None in (user, substitute, starts, ends) or self.instance.pk is not None:
            return cleaned
        try:
            handover.check_delegation(user, substitute, starts, ends, by=self.acting_user)
        except handover.HandoverError as exc:
            raise ValidationError(str(exc)) from exc
        return cleaned


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    """Substitutes while away, made and ended through :mod:`automations.handover` (and so audited).

    A new delegation is checked as :func:`~automations.handover.delegate` checks it and made by
    it; the action "End now" calls :func:`~automations.handover.end_delegation`. Delegations are
    not changed or deleted by hand: end one and make another.
    """

    form = DelegationForm
    list_display = ["user", "substitute", "starts", "ends", "created_by"]
    raw_id_fields = ["user", "substitute"]
    list_select_related = ["user", "substitute", "created_by"]
    actions = ["end_now"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"acting_user": request.user})

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except handover.HandoverError:
            pass
        # Refused by delegate(): somebody made an overlapping delegation between the form's check and
        # the save. Shown again, the form now names it and keeps what was entered.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except handover.HandoverError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        # The form checked the delegation as delegate() does; delegate() checks it again under its
        # lock (one made meanwhile makes it refuse) and writes it with its audit entry.
        made = handover.delegate(obj.user, obj.substitute, obj.ends, starts=obj.starts, by=request.user)
        obj.pk, obj.created, obj.created_by = made.pk, made.created, made.created_by

    @admin.action(description=_("End the selected delegations now (drop those not started)"))
    def end_now(self, request, queryset):
        ended, refused = 0, []
        for delegation in queryset.filter(ends__gt=timezone.now()).order_by("pk"):
            try:
                handover.end_delegation(request.user, delegation)
            except handover.HandoverError as exc:
                refused.append(f"#{delegation.pk}: {exc}")
            else:
                ended += 1
        if ended:
            text = ngettext("%(count)d delegation ended.", "%(count)d delegations ended.", ended)
            self.message_user(request, text % {"count": ended}, messages.SUCCESS)
        if refused:
            self.message_user(request, " ".join(refused), messages.ERROR)


class AuditInstanceFilter(admin.SimpleListFilter):
    """Whether an audit entry is about an instance or about none (a delegation)."""

    title = _("instance")
    parameter_name = "instance"

    def lookups(self, request, model_admin):
        return [("yes", _("about an instance")), ("no", _("about no instance"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(automation__isnull=self.value() == "no")
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(SafeInputAdmin):
    """Every audit entry, read-only: who did what, when, to which instance (if any)."""

    list_display = ["created", "username", "action", "instance", "description"]
    list_filter = ["action", "created", AuditInstanceFilter]
    search_fields = ["username"]
    date_hierarchy = "created"
    ordering = ["-created", "-pk"]
    list_per_page = 50
    fields = ["created", "username", "user", "action", "instance", "description", "reason", "details"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("instance"), ordering="automation")
    def instance(self, obj):
        if obj.automation_id is None:
            return "—"
        url = reverse("admin:automations_automationmodel_change", args=[obj.automation_id])
        return format_html('<a href="{}">#{}</a>', url, obj.automation_id)

    @admin.display(description=_("what happened"))
    def description(self, obj):
        return obj.describe()


@admin.register(NotificationOptOut)
class NotificationOptOutAdmin(admin.ModelAdmin):
    """Who does not want to be told of what (``*``: of nothing)."""

    list_display = ["user", "kind"]
    raw_id_fields = ["user"]
