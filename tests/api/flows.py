"""Automations and users for the tests of the JSON API."""

from __future__ import annotations

from django import forms
from rest_framework.authtoken.models import Token

from automations import flow
from tests.approvals.forms import ApprovalForm
from tests.people.flows import make_user

INSTANCE_PERMISSIONS = ["automations.view_automationmodel", "automations.change_automationmodel"]


class RequestForm(forms.Form):
    """A start form with the kinds of fields a client must render."""

    title = forms.CharField(max_length=80, help_text="What is asked for.")
    amount = forms.DecimalField(max_digits=9, decimal_places=2, min_value=0)
    priority = forms.ChoiceField(choices=[("low", "Low"), ("high", "High")], initial="low")
    due = forms.DateField(required=False)
    urgent = forms.BooleanField(required=False)


class DecidersApproval(flow.Automation):
    """A request the Deciders group approves."""

    class Meta:
        verbose_name = "Deciders' approval"
        start_form = RequestForm
        start_groups = ["Deciders"]
        start_user_key = "requester"

    ask = flow.Form(ApprovalForm, description="Approve the request").Group(name="Deciders")
    end = flow.End()

    def receive_nudge(self, token, data):
        self.data["nudged"] = data.get("by", "")
        self.save()


def make_people():
    """Return the users of the API tests by role: a plain user, a manager, staff and a superuser."""
    staff = make_user("stan", staff=True, permissions=INSTANCE_PERMISSIONS)
    return {
        "plain": make_user("pat"),
        "manager": make_user("mia", groups=["Deciders"]),
        "staff": staff,
        "root": make_user("root", superuser=True),
    }


def token_for(user) -> str:
    """Return the API token of ``user`` (created on first use)."""
    return Token.objects.get_or_create(user=user)[0].key


class ChoiceForm(forms.Form):
    """A form with a model choice, several choices and an initial value a client must show."""

    colour = forms.MultipleChoiceField(choices=[("red", "Red"), ("blue", "Blue")], initial=["blue"])
    size = forms.IntegerField(min_value=1, max_value=10, initial=3)


class OnePerTitle(flow.Automation):
    """One running request per title, for anybody."""

    unique = ("title",)

    class Meta:
        start_form = RequestForm
        start_groups = ["Deciders"]

    ask = flow.Form(ChoiceForm).Group(name="Deciders")
    end = flow.End()
