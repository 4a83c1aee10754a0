"""Forms of the demo: filing an expense claim, starting a trial, and a manager's decision on a claim."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


class ExpenseClaimForm(forms.Form):
    """What an employee fills in to claim an expense (starts an ``ExpenseApproval``)."""

    amount = forms.DecimalField(
        label=_("Amount (EUR)"), min_value=Decimal("0.01"), max_digits=9, decimal_places=2
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=200)


class TrialStartForm(forms.Form):
    """Starting a free trial needs no details: the trial is for the user who starts it."""


class ExpenseDecisionForm(forms.Form):
    """A manager's decision on an expense claim (the ``approval`` form of ``ExpenseApproval``)."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
