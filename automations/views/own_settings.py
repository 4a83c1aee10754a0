"""A user's own settings: their substitute while they are away, and the notifications they get.

``tasks/settings/`` (``automations:my_settings``) lists the user's current and coming
delegations, as the user who is away and as the substitute, and takes two forms: a new
delegation (made by :func:`automations.handover.delegate`, whose refusals show as form errors)
and the kinds of notification the user wants (kept as
:class:`~automations.models.NotificationOptOut` rows by :func:`automations.notifications.opt_out`
and :func:`~automations.notifications.opt_in`). ``tasks/settings/delegations/<pk>/end/``
(``automations:end_delegation``) ends a delegation through
:func:`automations.handover.end_delegation`: only its user, its substitute or a manager may.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from automations import handover, notifications
from automations.models import Delegation

from .errors import PageErrorsMixin

MOMENT_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AwayForm(forms.Form):
    """A new delegation of the user: away from (default now) until, and the substitute's user name."""

    prefix = "away"

    starts = forms.DateTimeField(
        label=_("Away from"),
        required=False,
        widget=MOMENT_INPUT,
        help_text=_("Empty: from now on."),
    )
    ends = forms.DateTimeField(label=_("Until"), widget=MOMENT_INPUT)
    substitute = forms.CharField(
        label=_("Substitute (user name)"),
        max_length=150,
        help_text=_("They see the tasks assigned to you personally and may process them meanwhile."),
    )

    def clean_ends(self):
        ends = self.cleaned_data["ends"]
        if ends <= timezone.now():
            raise forms.ValidationError(_("Give a date and time still to come."))
        return ends

    def clean_substitute(self):
        name = self.cleaned_data["substitute"].strip()
        model = get_user_model()
        found = model._default_manager.filter(**{model.USERNAME_FIELD: name}, is_active=True).first()
        if found is None:
            raise forms.ValidationError(_("There is no active user %(name)s.") % {"name": name})
        return found


class NotificationsForm(forms.Form):
    """One check box for each kind of notification: ticked, the user is told of it."""

    prefix = "notify"

    def __init__(self, *args, user, **kwargs):
        off = notifications.opted_out(user)
        super().__init__(*args, initial={kind: kind not in off for kind in notifications.KINDS}, **kwargs)
        for kind in notifications.KINDS:
            self.fields[kind] = forms.BooleanField(label=notifications.LABELS[kind], required=False)


def delegations_of(user) -> dict[str, list[Delegation]]:
    """Return the running and coming delegations of ``user``: ``away`` (theirs) and ``standing_in``."""
    rows = Delegation.objects.filter(Q(user=user) | Q(substitute=user), ends__gt=timezone.now())
    rows = rows.select_related("user", "substitute").order_by("starts", "pk")
    return {
        "away": [row for row in rows if row.user_id == user.pk],
        "standing_in": [row for row in rows if row.substitute_id == user.pk],
    }


class MySettingsView(PageErrorsMixin, LoginRequiredMixin, TemplateView):
    """The user's delegations and notifications (``automations/my_settings.html``).

    A POST carries one of the two forms, told apart by its submit button's name (``away`` or
    ``notify``); a valid one redirects back here, an invalid one shows the page again with its
    errors.
    """

    template_name = "automations/my_settings.html"
    http_method_names = ["get", "post"]

    def get_context_data(self, **kwargs):
        kwargs.setdefault("away_form", AwayForm())
        kwargs.setdefault("notifications_form", NotificationsForm(user=self.request.user))
        return super().get_context_data(now=timezone.now(), **delegations_of(self.request.user), **kwargs)

    def post(self, request, *args, **kwargs):
        if "notify" in request.POST:
            return self.save_notifications(NotificationsForm(request.POST, user=request.user))
        return self.make_delegation(AwayForm(request.POST))

    def make_delegation(self, form):
        if form.is_valid():
            data = form.cleaned_data
            try:
                handover.delegate(
                    self.request.user,
                    data["substitute"],
                    data["ends"],
                    starts=data["starts"],
                    by=self.request.user,
                )
            except handover.HandoverError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    self.request,
                    _("Until %(ends)s, %(name)s stands in for you.")
                    % {"name": data["substitute"].get_username(), "ends": _moment(data["ends"])},
                )
                return HttpResponseRedirect(reverse("automations:my_settings"))
        return self.render_to_response(self.get_context_data(away_form=form))

    def save_notifications(self, form):
        if not form.is_valid():  # check boxes cannot be invalid; a forged form is shown again
            return self.render_to_response(self.get_context_data(notifications_form=form))
        for kind in notifications.KINDS:
            if form.cleaned_data[kind]:
                notifications.opt_in(self.request.user, kind)
            else:
                notifications.opt_out(self.request.user, kind)
        messages.success(self.request, _("Your notifications are saved."))
        return HttpResponseRedirect(reverse("automations:my_settings"))


class EndDelegationView(PageErrorsMixin, LoginRequiredMixin, View):
    """End a delegation now (POST only) and go back to the settings page.

    :func:`automations.handover.end_delegation` decides who may: anybody else gets a 403.
    """

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        row = Delegation.objects.select_related("user", "substitute").filter(pk=kwargs["pk"]).first()
        if row is None or row.ends <= timezone.now():
            raise Http404(_("No running or coming delegation has this number."))
        handover.end_delegation(request.user, row)  # HandoverForbidden is a PermissionDenied: a 403
        messages.success(
            request,
            _("%(substitute)s no longer stands in for %(user)s.")
            % {"substitute": row.substitute.get_username(), "user": row.user.get_username()},
        )
        return HttpResponseRedirect(reverse("automations:my_settings"))


def _moment(value) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")
