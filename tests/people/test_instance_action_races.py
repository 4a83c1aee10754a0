"""Two people acting on one instance at the same moment: the second sees what the first did.

Real concurrent requests, each on a database connection of its own: on PostgreSQL the row lock
orders them, on SQLite its single writer does. A cancelled instance is never revived; each action
that happened writes one audit entry, and the one that no longer applies gets the page that says so.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.test import Client
from django.urls import reverse

from automations import flow, instance_actions
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel, Status
from tests.people.flows import make_user

pytestmark = pytest.mark.django_db(transaction=True)
TRIES = 12


class Payment(flow.Automation):
    """Fails at ``charge`` until its data say the card works; counts its charges."""

    charge = flow.Execute("self.charge_card")
    end = flow.End()

    def charge_card(self, task):
        if not self.data.get("card_works"):
            raise ConnectionError("card service unreachable")
        self.data["charges"] = self.data.get("charges", 0) + 1


def operators(count):
    permissions = Permission.objects.filter(
        content_type__app_label="automations",
        codename__in=["view_automationmodel", "change_automationmodel"],
    )
    people = []
    for number in range(count):
        user = make_user(f"operator{number}", staff=True)
        user.user_permissions.add(*permissions)
        people.append(user)
    return people


def failed_payment():
    payment = Payment()
    model = AutomationModel.objects.get(pk=payment.id)
    assert model.error and not model.finished
    model.data["card_works"] = True  # a retry would charge now
    model.save(update_fields=["data"])
    return model.pk


def post_together(requests):
    """POST ``[(user, url)]`` all at once, each from a thread of its own; return the responses in order.

    Every POST carries a reason, which the cancel action needs and the others ignore.
    """
    start = threading.Barrier(len(requests))
    responses = [None] * len(requests)
    failures = []

    def post(index, user, url):
        try:
            client = Client()
            client.force_login(user)
            start.wait(timeout=10)
            responses[index] = client.post(url, {"reason": "Duplicate order."})
        except Exception as exc:  # reported below, in the test's own thread
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return responses


def audits(instance_id):
    return list(AuditEntry.objects.filter(automation_id=instance_id).values_list("action", flat=True))


def action_url(instance_id, action):
    return reverse("automations:instance_action", args=[instance_id, action])


def test_a_cancel_and_a_retry_at_once_never_revive_the_cancelled_instance():
    canceller, retrier = operators(2)
    for _ in range(TRIES):
        pk = failed_payment()
        cancel, retry = post_together(
            [(canceller, action_url(pk, "cancel")), (retrier, action_url(pk, "retry"))]
        )
        model = AutomationModel.objects.get(pk=pk)
        history = audits(pk)
        assert history in (["cancel"], ["retry"], ["retry", "cancel"]), history
        if history == ["cancel"]:  # the cancel came first: the retry no longer applied
            assert retry.status_code == 409 and "does not apply" in retry.content.decode()
            assert model.status == Status.CANCELLED and not model.finished
            assert model.data.get("charges") is None  # the failed node never ran again
        elif history == ["retry", "cancel"]:  # the retry came first; the instance was cancelled after it
            assert cancel.status_code == 302 and model.status == Status.CANCELLED
        else:  # the retry came first and the instance finished before the cancel was looked at
            assert cancel.status_code == 409 and model.finished and model.data["charges"] == 1
            assert model.status == Status.FINISHED
        assert not AutomationTaskModel.objects.filter(automation_id=pk, finished=None).exists()


def test_eight_cancels_at_once_write_one_audit_entry():
    people = operators(8)
    for _ in range(TRIES // 3):
        pk = failed_payment()
        responses = post_together([(person, action_url(pk, "cancel")) for person in people])
        assert audits(pk) == ["cancel"]
        assert sorted(response.status_code for response in responses) == [302] + [409] * 7
        refused = next(response for response in responses if response.status_code == 409)
        assert "automations/instance_action.html" in [t.name for t in refused.templates]
        assert instance_actions.available(AutomationModel.objects.get(pk=pk)) == []


def test_a_retry_refused_under_the_lock_changes_nothing():
    """The check under the lock alone refuses: the instance is cancelled between the page and the POST."""
    (person,) = operators(1)
    pk = failed_payment()
    model = AutomationModel.objects.get(pk=pk)
    instance_actions.perform(model, "cancel", person, reason="Duplicate order.")
    with pytest.raises(instance_actions.ActionNotPossible):
        instance_actions.perform(model, "retry", person)  # ``model`` still says "failed"
    with pytest.raises(instance_actions.ActionNotPossible):
        instance_actions.perform(model, "cancel", person, reason="Again.")
    assert audits(pk) == ["cancel"]
    assert AutomationModel.objects.get(pk=pk).data.get("charges") is None
