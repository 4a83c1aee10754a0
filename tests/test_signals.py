"""Starting automations from Django signals, and finding declared automations."""

import pytest
from django.apps import apps
from django.dispatch import Signal

from automations import flow, signals
from automations.flow import this
from automations.models import AutomationModel
from tests.helpers import row
from tests.testapp.automations import OrderFollowUp
from tests.testapp.signals import order_placed

pytestmark = pytest.mark.django_db


def test_a_signal_starts_an_instance_and_started_by_signal_runs_first():
    order_placed.send(sender="shop", order_number=17)
    (instance,) = AutomationModel.objects.filter(automation_class=OrderFollowUp.get_automation_class_name())
    assert instance.data == {"order_number": 17, "sender": "shop", "thanked": 17}
    assert instance.finished


def test_each_signal_starts_a_new_instance():
    order_placed.send(sender="shop", order_number=1)
    order_placed.send(sender="shop", order_number=2)
    numbers = AutomationModel.objects.filter(automation_class=OrderFollowUp.get_automation_class_name())
    assert sorted(row.data["order_number"] for row in numbers) == [1, 2]


def test_on_signal_without_started_by_signal_and_as_classmethod():
    started = Signal()
    also_started = Signal()

    @flow.on_signal(started)
    class Plain(flow.Automation):
        start = flow.Execute(this.mark)

        def mark(self, task):
            self.data["ran"] = True

    Plain.on_signal(also_started)
    started.send(sender=None)
    also_started.send(sender=None)
    runs = AutomationModel.objects.filter(automation_class=Plain.get_automation_class_name())
    assert [r.data for r in runs] == [{"ran": True}, {"ran": True}]


def test_a_failing_started_by_signal_leaves_nothing_behind():
    failing = Signal()

    @flow.on_signal(failing)
    class Broken(flow.Automation):
        end = flow.End()

        def started_by_signal(self, sender, **kwargs):
            raise ValueError("bad signal")

    with pytest.raises(ValueError, match="bad signal"):
        failing.send(sender=None)
    assert AutomationModel.objects.count() == 0


def test_automation_finished_and_task_failed_signals(django_capture_on_commit_callbacks):
    received = []

    def on_finished(sender, automation, **kwargs):
        received.append(("finished", sender.__name__, automation.id))

    def on_failed(sender, task, exception, **kwargs):
        received.append(("failed", sender.__name__, task.status, type(exception).__name__))

    def broken_receiver(sender, **kwargs):
        raise RuntimeError("a broken receiver does not stop the engine")

    class Short(flow.Automation):
        boom = flow.Execute(this.explode).OnError(this.end)
        end = flow.End()

        def explode(self, task):
            raise KeyError("x")

    signals.automation_finished.connect(on_finished)
    signals.task_failed.connect(on_failed)
    signals.task_failed.connect(broken_receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            short = Short()
    finally:
        signals.automation_finished.disconnect(on_finished)
        signals.task_failed.disconnect(on_failed)
        signals.task_failed.disconnect(broken_receiver)
    assert received == [("failed", "Short", "boom", "KeyError"), ("finished", "Short", short.id)]
    assert row(short).finished


def test_get_automations_lists_the_apps_automations_modules():
    everything = flow.get_automations()
    paths = [path for path, _ in everything]
    assert ("tests.testapp.automations.EffectChain", "Effect chain") in everything
    assert ("tests.testapp.automations.Inbox", "Automation Inbox") in everything
    assert paths == sorted(paths)
    assert not any(
        path.startswith("tests.test_") for path in paths
    )  # test modules are no automations modules


@pytest.mark.parametrize("app", ["testapp", "tests.testapp", apps.get_app_config("testapp")])
def test_get_automations_of_one_app(app):
    found = flow.get_automations(app)
    assert found == sorted(found)
    assert set(found) >= {
        ("tests.testapp.automations.EffectChain", "Effect chain"),
        ("tests.testapp.automations.FanOutAndWait", "Automation FanOutAndWait"),
        ("tests.testapp.automations.Inbox", "Automation Inbox"),
        ("tests.testapp.automations.OrderFollowUp", "Automation OrderFollowUp"),
        ("tests.testapp.automations.Napper", "Automation Napper"),
    }
    assert all(path.startswith("tests.testapp.automations.") for path, _ in found)


def test_get_automations_of_an_app_without_automations():
    assert flow.get_automations("auth") == []


def test_on_connects_the_class_to_a_signal_and_passes_the_arguments_to_started_by_signal():
    paid = Signal()

    class Receipt(flow.Automation):
        send = flow.Execute(this.send_receipt)
        end = flow.End()

        def started_by_signal(self, *args, **kwargs):
            self.data["args"] = [str(arg) for arg in args]
            self.data["amount"] = kwargs["amount"]

        def send_receipt(self, task):
            self.data["sent"] = True

    assert Receipt.on(paid) is Receipt
    Receipt.on(paid)  # connecting again changes nothing
    paid.send(sender="shop", amount=12)
    (started,) = AutomationModel.objects.filter(automation_class=Receipt.get_automation_class_name())
    assert started.finished
    assert started.data == {"args": ["shop"], "amount": 12, "sent": True}


def test_on_and_on_signal_are_names_of_flow_automation():
    assert callable(flow.Automation.on) and callable(flow.Automation.on_signal)
