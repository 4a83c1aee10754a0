"""The inbox's hand-over buttons: claim, give back, snooze one task or the selected ones; hand a task over.

``POST tasks/actions/`` takes ``do`` = ``"claim 7"`` (one task) or ``"claim"`` with the selected
``task`` ids, for ``claim``, ``unassign``, ``snooze`` (until the ``until`` date and time, else the
``snooze`` choice of :data:`automations.tasklist.inbox.SNOOZES`) and ``wake`` (end a snooze);
each task is acted on by :mod:`automations.handover`, which checks the user's rights, and the user
goes back to ``next`` with one message of what was done and one of what was refused.
``tasks/<id>/reassign/`` asks to whom (a user name or a group) and hands the task over;
``instances/bulk/tasks/<action>/`` does it for the open tasks of the instances selected in the console.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import FormView

from automations import handover
from automations.models import AutomationTaskModel
from automations.permissions import form_node_for, group_model, may_process
from automations.tasklist.inbox import snooze_end
from automations.tasklist.queries import open_form_tasks

from .access import ChangeAccessMixin
from .bulk import selected_ids

ACTIONS = ("claim", "unassign", "snooze", "wake")


def back_to(request, default: str = "automations:task_list") -> str:
    """Return the same-host ``next`` URL of the request, else the page named ``default``."""
    url = request.POST.get("next") or request.GET.get("next")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(default)


def snooze_until(post):
    """Return when the snooze a form asks for ends: its ``until``, else its ``snooze`` choice."""
    text = (post.get("until") or "").strip()
    if text:
        moment = parse_datetime(text)
        if moment is None:
            raise handover.HandoverError(_("Give the date and time as 2030-01-07 08:00."))
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
    return snooze_end(post.get("snooze") or "tomorrow")


class TaskActionsView(LoginRequiredMixin, View):
    """Carry out a hand-over on one task or on the selected ones, and go back to the inbox."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        action, _space, one = (request.POST.get("do") or "").partition(" ")
        ids = selected_ids([one] if one else request.POST.getlist("task"))
        if action not in ACTIONS:
            messages.error(request, _("There is no such action."))
            return HttpResponseRedirect(back_to(request))
        if not ids:
            messages.error(request, _("Select the tasks first."))
            return HttpResponseRedirect(back_to(request))
        try:
            until = snooze_until(request.POST) if action == "snooze" else None
        except handover.HandoverError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(back_to(request))
        done, refused = 0, []
        for task in AutomationTaskModel.objects.filter(pk__in=ids).order_by("pk"):
            try:
                if action == "claim":
                    handover.claim(request.user, task)
                elif action == "unassign":
                    handover.unassign(request.user, task)
                else:
                    handover.snooze(request.user, task, until)
            except handover.HandoverError as exc:
                refused.append(f"#{task.pk}: {exc}")
            else:
                done += 1
        missing = len(ids) - done - len(refused)
        if missing:
            refused.append(str(_("%(count)d of the tasks are not open any more.") % {"count": missing}))
        if done:
            messages.success(request, _done_message(action, done))
        if refused:
            messages.error(request, " ".join(refused))
        return HttpResponseRedirect(back_to(request))


def _done_message(action: str, count: int) -> str:
    texts = {
        "claim": ngettext("%(count)d task claimed.", "%(count)d tasks claimed.", count),
        "unassign": ngettext(
            "%(count)d task given back to the queue.", "%(count)d tasks given back to the queue.", count
        ),
        "snooze": ngettext("%(count)d task snoozed.", "%(count)d tasks snoozed.", count),
        "wake": ngettext("%(count)d task back in the list.", "%(count)d tasks back in the list.", count),
    }
    return texts[action] % {"count": count}


class ReassignForm(forms.Form):
    """To whom a task goes: a user by user name, or a group."""

    username = forms.CharField(label=_("To a user (user name)"), required=False, max_length=150)
    group: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Or to a group"), queryset=None, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = group_model()._default_manager.order_by("pk")

    def clean(self):
        cleaned = super().clean()
        name, group = cleaned.get("username"), cleaned.get("group")
        if bool(name) == bool(group):
            raise forms.ValidationError(_("Give a user name or choose a group (one of them)."))
        if name:
            user = get_user_model()._default_manager.filter(
                **{get_user_model().USERNAME_FIELD: name}, is_active=True
            )
            cleaned["user"] = user.first()
            if cleaned["user"] is None:
                self.add_error("username", _("There is no active user %(name)s.") % {"name": name})
        return cleaned


class TaskReassignView(LoginRequiredMixin, FormView):
    """Hand an open task to a user or a group (``automations/task_reassign.html``)."""

    form_class = ReassignForm
    template_name = "automations/task_reassign.html"

    def dispatch(self, request, *args, **kwargs):
        task = AutomationTaskModel.objects.select_related("automation").filter(pk=kwargs["task_id"]).first()
        if task is None or task.finished is not None or form_node_for(task) is None:
            raise Http404(_("No open task has this number."))
        if not (handover.may_manage(request.user, task) or may_process(request.user, task)):
            raise Http404(_("No open task of yours has this number."))
        self.task = task
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(task=self.task, next=back_to(self.request), **kwargs)

    def form_valid(self, form):
        user, group = form.cleaned_data.get("user"), form.cleaned_data.get("group")
        try:
            handover.reassign(self.request.user, self.task, to_user=user, to_group=group)
        except handover.HandoverError as exc:
            form.add_error(None, str(exc))
            status = 403 if isinstance(exc, handover.HandoverForbidden) else 409
            return self.render_to_response(self.get_context_data(form=form), status=status)
        to = user.get_username() if user is not None else str(group)
        messages.success(self.request, _("Task #%(pk)s handed to %(to)s.") % {"pk": self.task.pk, "to": to})
        return HttpResponseRedirect(back_to(self.request))


BULK_HANDOVERS = {
    "give-back": _("Give their tasks back to the queue"),
    "hand-over": _("Hand their tasks over"),
}


class BulkHandoverView(ChangeAccessMixin, FormView):
    """The console's hand-over of the open form tasks of the selected instances (``?ids=1,2``).

    ``give-back`` returns their claimed tasks to their queues; ``hand-over`` hands them to a user
    or a group. GET lists the tasks and asks for confirmation (and to whom); POST acts on each
    task through :mod:`automations.handover`, whose rules hold for the acting user, and goes back
    to ``next``. Template: ``automations/bulk_handover.html``.
    """

    template_name = "automations/bulk_handover.html"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["action"] not in BULK_HANDOVERS:
            raise Http404(_("There is no such action."))
        self.action = kwargs["action"]
        source = request.POST if request.method == "POST" else request.GET
        self.ids = selected_ids(source.getlist("ids"))
        tasks = open_form_tasks().filter(automation_id__in=self.ids)
        self.tasks = list(
            tasks.select_related("automation", "interaction_user", "interaction_group").order_by("pk")
        )
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self):
        return ReassignForm if self.action == "hand-over" else forms.Form

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            action=self.action,
            label=BULK_HANDOVERS[self.action],
            tasks=self.tasks,
            ids=",".join(str(pk) for pk in self.ids),
            next_url=back_to(self.request, default="automations:instances"),
            **kwargs,
        )

    def form_valid(self, form):
        user, group = form.cleaned_data.get("user"), form.cleaned_data.get("group")
        done, refused = 0, []
        for task in self.tasks:
            try:
                if self.action == "give-back":
                    handover.unassign(self.request.user, task)
                else:
                    handover.reassign(self.request.user, task, to_user=user, to_group=group)
            except handover.HandoverError as exc:
                refused.append(f"#{task.pk}: {exc}")
            else:
                done += 1
        if done:
            messages.success(self.request, _("%(action)s: done for %(count)d tasks.") % {
                "action": BULK_HANDOVERS[self.action], "count": done})  # fmt: skip
        if refused:
            messages.warning(self.request, " ".join(refused))
        if not self.tasks:
            messages.warning(self.request, _("The selected instances have no open form tasks."))
        return HttpResponseRedirect(back_to(self.request, default="automations:instances"))
