"""Words for people on the console: node descriptions, errors in one line, the send-message form."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from automations import flow, instance_actions
from automations.models import AutomationModel, AutomationTaskModel
from automations.views.error_summary import (
    error_summary,
    failure_summary,
    repr_parts,
    summarize,
    traceback_message,
)
from automations.views.node_labels import NodeLabel, humanize, node_label
from tests.people.flows import make_user

pytestmark = pytest.mark.django_db

CHANGE = ["automations.view_automationmodel", "automations.change_automationmodel"]


class CardError(ConnectionError):
    """An exception of a module of its own: tracebacks name it by its dotted path."""


class Checkout(flow.Automation):
    """Prepares an order, then charges the card (fails until the card works); waits for the payment."""

    class Meta:
        verbose_name = "Checkout"

    prepare_order = flow.Execute("self.prepare")
    charge = flow.Execute("self.charge_card", description="Charge the customer's card")
    settle = flow.Execute(lambda task: None, description="Wait for the payment").AsSoonAs(
        lambda task: task.data.get("paid")
    )
    end = flow.End()

    def prepare(self, task):
        self.data["prepared"] = True

    def charge_card(self, task):
        if self.data.get("card") == "broken":
            raise CardError("card service unreachable\nretry in 5 minutes")
        if not self.data.get("card_works"):
            raise ConnectionError("card service unreachable")

    @flow.require_data_parameters(amount=int, currency=str)
    def receive_payment(self, token, data):
        """Record a payment the customer made by phone.

        Nobody reads this paragraph on the form.
        """
        self.data.update(paid=data["amount"], currency=data["currency"], note=data.get("note"), token=token)

    def receive_reminder(self, token, data):
        """Note that the customer was reminded; the token names who reminded them."""
        self.data["reminded_by"] = token


@pytest.fixture
def operator():
    client = Client()
    client.force_login(make_user("olga", staff=True, permissions=CHANGE))
    return client


def page(client, name, *args, **query):
    response = client.get(reverse(f"automations:{name}", args=args), query)
    assert response.status_code == 200
    return response.content.decode()


# -- errors in one line --------------------------------------------------------------------------


def test_a_summary_is_the_class_name_and_the_first_line_of_the_message():
    assert summarize("builtins.ConnectionError", "card service unreachable") == (
        "ConnectionError: card service unreachable"
    )
    assert summarize("shop.errors.CardError", "\n  unreachable\nretry later") == "CardError: unreachable"
    assert summarize("KeyError") == "KeyError"
    assert summarize("", "only words") == "only words"
    long = summarize("ValueError", "x" * 500)
    assert len(long) == 120 and long.endswith("…")


def test_the_message_comes_from_the_traceback_else_from_the_repr():
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nshop.CardError: unreachable\n'
    assert traceback_message(traceback, "shop.CardError") == "unreachable"
    assert traceback_message("...\nValueError\n", "builtins.ValueError") == ""
    assert traceback_message("...\nOther: x\n", "builtins.ValueError") is None
    assert repr_parts("ConnectionError('card service unreachable')") == (
        "ConnectionError",
        "card service unreachable",
    )
    assert repr_parts("OSError(2, 'No such file')") == ("OSError", "2, No such file")
    assert repr_parts("Odd(<object at 0x1>)") == ("Odd", "<object at 0x1>")
    assert repr_parts("not a repr") == ("", "not a repr")


def test_failures_and_errors_of_instances_are_summarized():
    broken = Checkout(card="broken")
    model = AutomationModel.objects.get(pk=broken.id)
    assert model.error.startswith("Checkout.charge: CardError(")  # what the engine stores
    failure = instance_actions.failed_task(model)
    assert failure_summary(failure) == "CardError: card service unreachable"
    assert error_summary(model.error, failure) == "CardError: card service unreachable"
    assert error_summary(model.error) == "CardError: card service unreachable"  # read from the repr
    assert error_summary("") == ""
    assert error_summary("The instance's data is not JSON serializable: TypeError('set')") == (
        "The instance's data is not JSON serializable: TypeError('set')"
    )
    failure.result = {"exception": "builtins.ValueError", "traceback": "ValueError\n"}  # a bare name
    failure.message = "ValueError('older records put the message on the next line')"
    assert failure_summary(failure) == "ValueError: older records put the message on the next line"
    failure.message = "ValueError()"
    assert failure_summary(failure) == "ValueError"
    failure.message = "CardError('card service unreachable')"
    failure.result = {}  # a record without a traceback: the repr still tells
    assert failure_summary(failure) == "CardError: card service unreachable"


# -- node descriptions ---------------------------------------------------------------------------


def test_a_node_reads_as_its_description_else_its_name_in_words():
    assert node_label(Checkout, "charge") == NodeLabel("Charge the customer's card", "charge")
    assert node_label(Checkout, "prepare_order") == NodeLabel("Prepare order", "prepare_order")
    assert node_label(Checkout, "gone") == NodeLabel("gone")
    assert node_label(None, "charge") == NodeLabel("charge")
    assert humanize("send__invoice_") == "Send invoice" and str(NodeLabel("x", "y")) == "x"


def test_the_lists_show_descriptions_and_short_errors(operator):
    waiting = Checkout(card_works=True)
    failed = Checkout()
    AutomationModel.objects.create(automation_class="gone.Old", data={})
    AutomationTaskModel.objects.create(automation=AutomationModel.objects.latest("pk"), status="old_node")
    failure = AutomationTaskModel.objects.get(automation_id=failed.id, status="charge")
    short = "ConnectionError: card service unreachable"
    traceback_url = reverse("automations:traceback", args=[failed.id, failure.pk])

    instances = page(operator, "instances")
    assert 'Wait for the payment <code class="atm-node-id">settle</code>' in instances
    assert "Charge the customer&#x27;s card <code" in instances and short in instances
    assert f'href="{traceback_url}"' in instances  # the traceback one click away (staff)
    assert '<code class="atm-node-name">old_node</code>' in instances  # an unknown class: its identifier
    assert "Checkout.charge" not in instances and "ConnectionError(" not in instances

    errors = page(operator, "errors")
    assert errors.count(short) == 2 and "Checkout.charge" not in errors  # failed instance and task
    assert 'Charge the customer&#x27;s card <code class="atm-node-id">charge</code>' in errors

    dashboard = page(operator, "dashboard")
    assert "Wait for the payment" in dashboard and short in dashboard

    bulk = page(operator, "bulk_action", "retry", ids=f"{waiting.id},{failed.id}")
    assert "Wait for the payment" in bulk and short in bulk
    assert waiting.id != failed.id


def test_the_instance_page_speaks_of_descriptions_and_short_errors(operator):
    failed = Checkout()
    html = page(operator, "instance", failed.id)
    assert "ConnectionError: card service unreachable</a></dd>" in html  # the header's error, linked
    assert "Checkout.charge" not in html and "ConnectionError(" not in html
    stopped = '<strong>Charge the customer&#x27;s card</strong> <code class="atm-node-id">charge</code>'
    assert f"An error stopped it here: {stopped}" in html
    assert '<strong>Prepare order</strong> <code class="atm-node-id">prepare_order</code>' in html
    waiting = Checkout(card_works=True)
    html = page(operator, "instance", waiting.id)
    assert '<strong>Wait for the payment</strong> <code class="atm-node-id">settle</code>' in html


def test_people_without_staff_see_the_summary_without_the_traceback_link():
    viewer = Client()
    viewer.force_login(make_user("vic", permissions=["automations.view_automationmodel"]))
    failed = Checkout()
    html = page(viewer, "instances")
    assert "ConnectionError: card service unreachable" in html and "/traceback/" not in html
    assert "/traceback/" not in page(viewer, "instance", failed.id)
