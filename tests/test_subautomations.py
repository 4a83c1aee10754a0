"""SubAutomation: a parent starts a child, waits for it, takes its result; failures and cancelling."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations import flow, instance_actions, testing
from automations.flow import this
from automations.models import AuditEntry, AutomationModel
from tests.helpers import open_statuses, row

pytestmark = pytest.mark.django_db


class Payment(flow.Automation):
    charge = flow.Execute(this.take_money).AfterWaitingFor(timedelta(hours=1))
    end = flow.End()

    def take_money(self, task):
        if self.data["amount"] < 0:
            raise ValueError("A negative amount cannot be charged.")
        self.data["receipt"] = f"R-{self.data['amount']}"


class Order(flow.Automation):
    pay = flow.SubAutomation(Payment, data=this.payment_data).Into("payment")
    ship = flow.Execute(this.note_shipped)
    end = flow.End()

    def payment_data(self, task):
        return {"amount": self.data["total"]}

    def note_shipped(self, task):
        self.data["shipped"] = True


def child_of(parent):
    return AutomationModel.objects.get(parent_id=parent.id)


def test_the_parent_waits_for_its_child_and_takes_its_data(clock):
    order = Order(total=30)
    child = child_of(order)
    assert child.automation_class == Payment.get_automation_class_name()
    assert child.data == {"amount": 30}
    assert open_statuses(order) == ["pay"]
    assert row(order).status == "waiting_for_message"
    assert row(order).wake_at is None  # no polling: the child's end wakes it
    clock.advance(hours=1)
    assert row(child).status == "finished"
    assert order.finished()
    assert row(order).data["payment"] == {"amount": 30, "receipt": "R-30"}
    assert row(order).data["shipped"] is True


class OrderTakingReceipt(flow.Automation):
    pay = flow.SubAutomation("tests.test_subautomations.Payment", data={"amount": 5}).Taking("receipt")
    end = flow.End()


def test_a_dotted_path_and_taking_a_part_of_the_childs_data(clock):
    order = OrderTakingReceipt()
    clock.advance(hours=1)
    assert order.finished()
    [pay] = [task for task in row(order).automationtaskmodel_set.all() if task.status == "pay"]
    assert pay.result == {"receipt": "R-5"}


def test_a_failing_child_stops_the_parent_as_failed(clock):
    order = Order(total=-1)
    clock.advance(hours=1)
    assert row(child_of(order)).status == "failed"
    parent = row(order)
    assert parent.status == "failed"
    assert f"Sub-automation #{child_of(order).pk} failed" in parent.error


class CarefulOrder(flow.Automation):
    pay = flow.SubAutomation(Payment, data=this.payment_data).OnError(this.refund)
    end = flow.End()
    refund = flow.Execute(this.note_refund).Next(this.end)

    def payment_data(self, task):
        return {"amount": self.data["total"]}

    def note_refund(self, task):
        self.data["refunded"] = True


def test_a_failing_child_takes_the_parents_on_error_route(clock):
    order = CarefulOrder(total=-1)
    clock.advance(hours=1)
    assert order.finished()
    assert row(order).data["refunded"] is True


def test_cancelling_the_parent_cancels_its_children(admin_user):
    order = Order(total=30)
    child = child_of(order)
    instance_actions.perform(row(order), "cancel", admin_user, reason="The customer withdrew.")
    assert row(order).status == "cancelled"
    assert row(child).status == "cancelled"
    entry = AuditEntry.objects.get(automation=child, action=AuditEntry.CANCEL)
    assert entry.reason == f"Its parent #{order.id} was cancelled: The customer withdrew."
    assert not open_statuses(child)


class Parcel(flow.Automation):
    send = flow.SubAutomation(Order, data=this.order_data)
    end = flow.End()

    def order_data(self, task):
        return {"total": self.data["total"]}


def test_cancelling_cancels_grandchildren_too(admin_user):
    parcel = Parcel(total=8)
    testing.run_until_idle()
    order = child_of(parcel)
    payment = AutomationModel.objects.get(parent=order)
    instance_actions.perform(row(parcel), "cancel", admin_user, reason="Stop.")
    assert [row(order).status, row(payment).status] == ["cancelled", "cancelled"]


def test_a_cancelled_child_fails_its_waiting_parent(admin_user, django_capture_on_commit_callbacks):
    order = Order(total=30)
    child = child_of(order)
    with django_capture_on_commit_callbacks(execute=True):  # without a worker the parent runs at once
        instance_actions.perform(child, "cancel", admin_user, reason="Paid by hand.")
    parent = row(order)
    assert parent.status == "failed"
    assert f"Sub-automation #{child.pk} was cancelled." in parent.error


def test_a_killed_child_makes_its_waiting_parent_due_and_fail(clock):
    order = Order(total=30)
    child = child_of(order)
    Payment(automation_id=child.pk).kill()
    assert row(order).wake_at == clock.now  # made due with the delete: no sweep has to guess
    AutomationModel.run()
    parent = row(order)
    assert parent.status == "failed"
    assert f"Sub-automation #{child.pk} no longer exists." in parent.error


def test_a_child_deleted_in_the_admin_takes_the_parents_on_error_route(
    client, admin_user, django_capture_on_commit_callbacks
):
    order = CarefulOrder(total=30)
    child = child_of(order)
    client.force_login(admin_user)
    changelist = reverse("admin:automations_automationmodel_changelist")
    selected = {"action": "delete_selected", "_selected_action": [child.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):  # without a worker the parent runs at once
        client.post(changelist, selected)
    assert not AutomationModel.objects.filter(pk=child.pk).exists()
    assert order.finished()
    assert row(order).data["refunded"] is True


def test_a_child_deleted_with_a_queryset_fails_its_parent_at_the_next_step(clock):
    order = Order(total=30)
    child = child_of(order)
    AutomationModel.objects.filter(pk=child.pk).delete()
    testing.run_until_idle()
    assert row(order).status == "failed"


def test_deleting_a_stopped_child_leaves_its_parent_alone(clock):
    order = Order(total=30)
    child = child_of(order)
    clock.advance(hours=1)
    assert row(order).status == "finished"
    with CaptureQueriesContext(connection) as queries:
        AutomationModel.objects.filter(pk=child.pk).delete()  # as deleting old history does
    updates = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("UPDATE")]
    assert all('SET "parent_id" = NULL' in sql for sql in updates)  # its own children's link only
    assert row(order).wake_at is None


def test_through_automation_step(clock):
    order = Order(total=12)
    child = child_of(order)
    call_command("automation_step", stdout=StringIO())  # the child starts: it waits an hour
    assert row(child).status == "waiting_for_time"
    clock.jump(hours=1)  # time passes, nothing runs
    call_command("automation_step", stdout=StringIO())
    assert row(child).status == "finished"
    assert row(order).wake_at == clock.now  # made due by the child's last step
    call_command("automation_step", stdout=StringIO())
    assert row(order).status == "finished"
    assert row(order).data["payment"]["receipt"] == "R-12"


def test_the_instance_pages_link_parent_and_children(client, admin_user):
    order = Order(total=30)
    child = child_of(order)
    client.force_login(admin_user)
    parent_page = client.get(reverse("automations:instance", args=[order.id])).content.decode()
    child_url = reverse("automations:instance", args=[child.pk])
    assert "Sub-automations" in parent_page
    assert f'<a href="{child_url}">Automation Payment #{child.pk}</a>' in parent_page
    child_page = client.get(child_url).content.decode()
    parent_url = reverse("automations:instance", args=[order.id])
    assert "Started by" in child_page
    assert f'<a href="{parent_url}">Automation Order #{order.id}</a>' in child_page
