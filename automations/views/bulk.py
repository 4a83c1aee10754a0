"""One action on many instances: the selection of the instances and errors pages (and the admin's cancel).

``GET instances/bulk/<action>/?ids=1,2,3`` lists the selected instances with what the action will
do to each (or why it does not apply) and asks for confirmation, and for cancel a reason;
``POST`` carries it out on each (:func:`automations.instance_actions.perform_many`), each in its
own transaction under its row lock, and goes back to the page the selection came from.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import FormView

from automations import instance_actions
from automations.models import AutomationModel

from .access import ChangeAccessMixin
from .instances import CancelForm, ConfirmForm, verbose_name_of
from .summaries import standings

BULK_ACTIONS = ("wake", "retry", "cancel")


def selected_ids(values) -> list[int]:
    """Return the instance ids in ``values`` (``"1,2"`` strings or lists of them), at most ``BULK_LIMIT``."""
    ids: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part.isascii() and part.isdigit() and 0 < int(part) < 2**63 and int(part) not in ids:
                ids.append(int(part))
    return ids[: instance_actions.BULK_LIMIT]


class BulkActionView(ChangeAccessMixin, FormView):
    """Confirm (GET) and carry out (POST) ``wake``, ``retry`` or ``cancel`` on the selected instances.

    Template: ``automations/bulk_action.html``.
    """

    template_name = "automations/bulk_action.html"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["action"] not in BULK_ACTIONS:
            raise Http404(_("There is no such action."))
        self.action = instance_actions.ACTIONS[kwargs["action"]]
        source = request.POST if request.method == "POST" else request.GET
        self.ids = selected_ids(source.getlist("ids"))
        self.models = list(AutomationModel.objects.filter(pk__in=self.ids).order_by("pk"))
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self):
        return CancelForm if self.action.name == "cancel" else ConfirmForm

    def next_url(self) -> str:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        url = source.get("next", "")
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return url
        return reverse("automations:instances")

    def get_context_data(self, **kwargs):
        rows = []
        where = standings(self.models)
        for model in self.models:
            rows.append(
                {
                    "model": model,
                    "verbose_name": verbose_name_of(model.automation_class),
                    "applies": self.action in instance_actions.available(model),
                    "standing": where[model.pk],
                }
            )
        return super().get_context_data(
            action=self.action,
            rows=rows,
            applies=sum(row["applies"] for row in rows),
            ids=",".join(str(model.pk) for model in self.models),
            next_url=self.next_url(),
            **kwargs,
        )

    def form_valid(self, form):
        if not self.models:
            messages.warning(self.request, _("No instance was selected."), fail_silently=True)
            return HttpResponseRedirect(self.next_url())
        done, refused = instance_actions.perform_many(
            self.models, self.action.name, self.request.user, **form.cleaned_data
        )
        if done:
            messages.success(
                self.request,
                ngettext(
                    "%(action)s: done for %(count)d instance.",
                    "%(action)s: done for %(count)d instances.",
                    len(done),
                )
                % {"action": self.action.label, "count": len(done)},
                fail_silently=True,
            )
        for pk, why in refused:
            messages.warning(self.request, f"#{pk}: {why}", fail_silently=True)
        return HttpResponseRedirect(self.next_url())
