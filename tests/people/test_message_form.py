"""The send-message form of an instance: its receivers, their required parameters, the errors named."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from automations import flow, instance_actions
from automations.models import AutomationModel
from tests.people.flows import make_user
from tests.people.test_console_words import CHANGE, Checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    client = Client()
    client.force_login(make_user("olga", staff=True, permissions=CHANGE))
    return client


def message_url(automation, receiver=None):
    url = reverse("automations:instance_action", args=[automation.id, "message"])
    return f"{url}?receiver={receiver}" if receiver else url


def test_the_form_offers_the_receivers_with_their_descriptions(operator):
    checkout = Checkout(card_works=True)
    html = unescape(operator.get(message_url(checkout)).content.decode())
    assert "does not publish its receivers" in html
    assert "Which message?" in html and 'href="?receiver=payment"' in html
    assert "Record a payment the customer made by phone." in html and "Nobody reads" not in html
    assert "Requires: amount, currency" in html and "receive_reminder" in html

    form = unescape(operator.get(message_url(checkout, "payment")).content.decode())
    assert '<label for="id_parameter_amount">amount' in form and "A whole number." in form
    assert 'name="parameter_currency"' in form and 'name="data"' in form
    assert '<details class="atm-more">' in form  # the token is folded away
    reminder = operator.get(message_url(checkout, "reminder")).content.decode()
    assert '<details class="atm-more" open>' in reminder  # its description speaks of the token
    assert "This receiver requires no data." in reminder


def test_a_missing_parameter_is_named_and_the_input_kept(operator):
    checkout = Checkout(card_works=True)
    typed = {
        "message": "payment",
        "parameter_amount": "12",
        "token": "call-7",
        "data": '{"note": "by phone"}',
    }
    response = operator.post(message_url(checkout, "payment"), typed)
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "The data lacks the parameter “currency” that receive_payment requires." in html
    assert 'value="12"' in html and 'value="call-7"' in html and '{"note": "by phone"}' in html
    assert "paid" not in AutomationModel.objects.get(pk=checkout.id).data

    wrong = operator.post(
        message_url(checkout), {**typed, "parameter_currency": "EUR", "parameter_amount": "t2"}
    )
    assert "The parameter “amount” that receive_payment requires must convert to int; “t2” does not." in (
        unescape(wrong.content.decode())
    )

    done = operator.post(message_url(checkout), {**typed, "parameter_currency": "EUR"}, follow=True)
    assert "Message “payment” sent to instance" in done.content.decode()
    data = AutomationModel.objects.get(pk=checkout.id).data
    assert (data["paid"], data["currency"], data["note"], data["token"]) == (12, "EUR", "by phone", "call-7")


def test_a_parameter_can_come_from_the_more_data_object(operator):
    checkout = Checkout(card_works=True)
    operator.post(message_url(checkout), {"message": "payment", "data": '{"amount": 3, "currency": "CHF"}'})
    assert AutomationModel.objects.get(pk=checkout.id).data["currency"] == "CHF"


def test_code_callers_get_the_missing_parameter_named():
    checkout = Checkout(card_works=True)
    otto = make_user("otto")
    with pytest.raises(instance_actions.InvalidParameter) as raised:
        instance_actions.perform(checkout._model, "message", otto, message="payment", data={"amount": 1})
    assert str(raised.value) == "The data lacks the parameter “currency” that receive_payment requires."
    assert (raised.value.parameter, raised.value.receiver) == ("currency", "receive_payment")
    assert isinstance(raised.value, instance_actions.InvalidActionInput)


def test_a_class_that_publishes_its_receivers_says_nothing_about_it(operator):
    class Published(flow.Automation):
        publish_receivers = True

        wait = flow.Execute(lambda task: None).AsSoonAs(lambda task: False)
        end = flow.End()

        def receive_ping(self, token, data):
            self.data["pinged"] = True

    published = Published()
    html = operator.get(message_url(published)).content.decode()
    assert "does not publish" not in html
    assert 'name="message" value="ping"' in html  # the only receiver: its form at once
