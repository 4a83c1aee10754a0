"""The demo's automations: an approval, a customer journey and a recurring report.

- ``ExpenseApproval``: an employee's expense claim, approved or rejected by a member of the group
  Managers in the task list; small amounts are approved without asking.
- ``TrialJourney``: a trial customer gets a welcome, a reminder a few seconds later unless they
  have looked at the pricing page (or bought) by then, and a thank-you as soon as they buy; a trial
  that runs out ends with a last message.
- ``AutomationReport``: every minute, a row counting the automation instances by state.
- ``InvoiceSync``: sends an invoice to a partner service that fails now and then, so that the
  errors pages and the instance page's "retry" have something to show.

The delays are seconds so that the demo moves while you watch; a real journey would wait days.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations import flow
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel

from .forms import ExpenseClaimForm, ExpenseDecisionForm, TrialStartForm
from .models import Notification, ReportSnapshot

User = get_user_model()


def notify(user, subject, body=""):
    """Record a message to ``user`` in the demo's outbox."""
    return Notification.objects.create(recipient=user, subject=subject, body=body)


class ExpenseApproval(flow.Automation):
    """An expense claim, approved by a member of Managers; small amounts are approved at once.

    Start it with ``ExpenseApproval(requester=user, amount="120.00", purpose="Team lunch")``, or from
    the start menu (members of Employees; the requester is who starts it).
    """

    requester = User
    MANAGERS = "Managers"
    APPROVE_BELOW = Decimal("50")

    class Meta:
        verbose_name = gettext_lazy("Expense approval")
        verbose_name_plural = gettext_lazy("Expense approvals")
        description = gettext_lazy(
            "Claim an expense: a manager approves or rejects it; amounts below 50 EUR are approved at once."
        )
        start_form = ExpenseClaimForm
        start_groups = ["Employees"]
        start_user_key = "requester"

    submitted = flow.Execute(
        this.notify_managers, description=gettext_lazy("Tell the managers about the claim.")
    ).SkipIf(this.is_small_amount)
    approval = (
        flow.Form(
            ExpenseDecisionForm,
            template_name="demo/expense_decision.html",
            description=gettext_lazy("Approve or reject this expense claim."),
        )
        .Group(name=MANAGERS)
        .SkipIf(this.is_small_amount)
    )
    decision = flow.If(this.is_approved).Then(this.approved).Else(this.rejected)
    approved = flow.Execute(this.notify_approved).Next(this.end)
    rejected = flow.Execute(this.notify_rejected)
    end = flow.End()

    def is_small_amount(self, task):
        return Decimal(self.data["amount"]) < self.APPROVE_BELOW

    def is_approved(self, task):
        answer = self.data.get("approval") or {}  # the form's cleaned data, stored under the node's name
        return self.is_small_amount(task) or answer.get("decision") == "approve"

    def summary(self):
        return f"{self.data['amount']} EUR for {self.data['purpose']}"

    def get_task_summary(self, task):
        claim = _("%(who)s claims %(amount)s EUR for %(purpose)s") % {
            "who": self.requester.username,
            "amount": self.data["amount"],
            "purpose": self.data["purpose"],
        }
        return f"{claim} · {self.get_verbose_name()} #{self.id}"

    def notify_managers(self, task):
        managers = Group.objects.get(name=self.MANAGERS).user_set.all()
        for manager in managers:
            notify(
                manager, f"{self.requester.username} claims {self.summary()}", "Your task list has the claim."
            )
        return {"notified": [manager.username for manager in managers]}

    def notify_approved(self, task):
        comment = (self.data.get("approval") or {}).get("comment") or ""
        notify(self.requester, f"Approved: {self.summary()}", comment)

    def notify_rejected(self, task):
        comment = (self.data.get("approval") or {}).get("comment") or ""
        notify(self.requester, f"Rejected: {self.summary()}", comment)


class TrialJourney(flow.Automation):
    """A customer's free trial, from the welcome to the purchase or the end of the trial.

    Start it with ``TrialJourney(customer=user)``; ``reminder_seconds`` and ``trial_seconds`` change
    the demo's short defaults. Messages move it on: ``page_viewed`` (token: the page's name, sent when
    the customer views the pricing page) and ``converted`` (data: the ``plan`` bought). Members of
    Customers start their own trial from the start menu (one at a time).
    """

    customer = User
    unique = ("customer",)
    publish_receivers = True

    REMINDER_SECONDS = 5
    TRIAL_SECONDS = 120

    class Meta:
        verbose_name = gettext_lazy("Trial journey")
        verbose_name_plural = gettext_lazy("Trial journeys")
        description = gettext_lazy(
            "Start your free trial: a welcome, a reminder to look at the plans, and a thank-you when you buy."
        )
        start_form = TrialStartForm
        start_groups = ["Customers"]
        start_user_key = "customer"

    welcome = flow.Execute(this.send_welcome, description=gettext_lazy("Welcome the new trial customer."))
    reminder = (
        flow.Execute(
            this.send_reminder, description=gettext_lazy("Remind the customer to look at the plans.")
        )
        .AfterWaitingFor(this.reminder_delay)
        .SkipIf(this.needs_no_reminder)
    )
    purchase = (
        flow.Execute(this.thank_customer, description=gettext_lazy("Thank the customer for buying."))
        .AsSoonAs(this.has_converted)
        .SkipAfter(this.trial_length)
    )
    outcome = flow.If(this.has_converted).Then(this.end).Else(this.send_trial_ended)
    end = flow.End()

    # -- conditions and times (each takes the task) --------------------------------------------

    def reminder_delay(self, task):
        return timedelta(seconds=self.data.get("reminder_seconds", self.REMINDER_SECONDS))

    def trial_length(self, task):
        return timedelta(seconds=self.data.get("trial_seconds", self.TRIAL_SECONDS))

    def needs_no_reminder(self, task):
        return "pricing" in self.data.get("pages_viewed", []) or self.has_converted(task)

    def has_converted(self, task):
        return bool(self.data.get("plan"))

    # -- actions --------------------------------------------------------------------------------

    def send_welcome(self, task):
        notify(
            self.customer,
            "Welcome to your free trial!",
            "Explore everything; our plans are on the pricing page.",
        )
        return {"sent_to": self.customer.username}

    def send_reminder(self, task):
        notify(
            self.customer,
            "Have you seen our plans?",
            "Your trial is running: pick a plan on the pricing page.",
        )

    def thank_customer(self, task):
        notify(self.customer, f"Thank you for buying the {self.data['plan']} plan!")
        return {"plan": self.data["plan"]}

    def send_trial_ended(self, task):
        notify(self.customer, "Your trial has ended", "Come back any time: the pricing page is still there.")

    # -- messages -------------------------------------------------------------------------------

    def receive_page_viewed(self, token, data):
        """Note that the customer viewed the page named ``token``."""
        pages = self.data.setdefault("pages_viewed", [])
        if token and token not in pages:
            pages.append(token)

    @flow.require_data_parameters(plan=str)
    def receive_converted(self, token, data):
        """Note that the customer bought ``data["plan"]``."""
        self.data["plan"] = data["plan"]
        self.data["converted_at"] = timezone.now().isoformat()


class AutomationReport(flow.Automation):
    """Every minute, count the automation instances by state into a ``ReportSnapshot`` row."""

    unique = True
    KEEP = timedelta(days=1)

    class Meta:
        verbose_name = gettext_lazy("Automation report")
        verbose_name_plural = gettext_lazy("Automation reports")

    snapshot = flow.Execute(this.take_snapshot, description=gettext_lazy("Count instances and open tasks."))
    every_minute = flow.Repeat(this.snapshot).EveryNMinutes(1)

    def take_snapshot(self, task):
        instances = AutomationModel.objects.all()
        counts = {
            "running": instances.filter(status__in=AutomationModel.Status.active()).count(),
            "finished": instances.filter(status=AutomationModel.Status.FINISHED).count(),
            "stopped": instances.filter(status=AutomationModel.Status.FAILED).count(),
            "open_tasks": AutomationTaskModel.objects.filter(
                finished=None, automation__status__in=AutomationModel.Status.active()
            )
            .exclude(automation_id=self.id)  # not the report's own
            .count(),
        }
        now = timezone.now()
        ReportSnapshot.objects.create(created=now, **counts)
        ReportSnapshot.objects.filter(created__lt=now - self.KEEP).delete()
        return counts


class PartnerServiceError(ConnectionError):
    """The demo's partner service did not answer."""


class InvoiceSync(flow.Automation):
    """Send an invoice to a partner service that fails about one time in three.

    Start it with ``InvoiceSync(customer=user, amount="49.00")``. A failed send stops the instance
    with the error; "Retry from the failed node" on its instance page (or in the admin) sends again.
    """

    customer = User
    FAILURE_RATE = 1 / 3

    class Meta:
        verbose_name = gettext_lazy("Invoice sync")
        verbose_name_plural = gettext_lazy("Invoice syncs")

    prepare = flow.Execute(this.number_invoice, description=gettext_lazy("Give the invoice its number."))
    send = flow.Execute(
        this.send_to_partner, description=gettext_lazy("Send the invoice to the partner service.")
    )
    confirm = flow.Execute(
        this.tell_customer, description=gettext_lazy("Tell the customer the invoice was sent.")
    )
    end = flow.End()

    def number_invoice(self, task):
        self.data["invoice"] = f"INV-{self.id:05d}"
        return {"invoice": self.data["invoice"]}

    def send_to_partner(self, task):
        if random.random() < self.data.get("failure_rate", self.FAILURE_RATE):  # noqa: S311 - a demo's dice
            raise PartnerServiceError("The partner service did not answer (timeout after 5 s).")
        self.data["sent_at"] = timezone.now().isoformat()
        return {"accepted": True}

    def tell_customer(self, task):
        invoice, amount = self.data["invoice"], self.data["amount"]
        notify(self.customer, f"Invoice {invoice} was sent", f"Amount: {amount} EUR")
