"""Flow control per class: ``Meta.concurrency`` (per ``Meta.concurrency_key``) on instances running at once.

An instance started over the limit waits before its first node, holding no thread, and is admitted
in the order it was started when one of those active stops (finishes, fails or is cancelled).
"""

from io import StringIO

import pytest
from django.core.management import call_command

from automations import flow, instance_actions, testing
from automations.flow import this
from automations.flow.declaration import AutomationDeclarationError
from automations.models import FlowTicket, Status
from tests.helpers import row, statuses

# Instances are admitted once a step commits: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


class Export(flow.Automation):
    class Meta:
        concurrency = 2

    begin = flow.Execute(this.note_begun)
    hold = flow.Execute(this.noop).AsSoonAs(this.done)
    end = flow.End()

    def note_begun(self, task):
        self.data["begun"] = True

    def noop(self, task):
        pass

    def done(self, task):
        return self.data.get("done", False)

    def receive_done(self, token, data):
        self.data["done"] = True


class CustomerExport(Export):
    class Meta:
        concurrency = 1
        concurrency_key = "customer"


class Crashing(flow.Automation):
    class Meta:
        concurrency = 1

    hold = flow.Execute(this.noop).AsSoonAs(this.crash)
    end = flow.End()

    def noop(self, task):
        pass

    def crash(self, task):
        if self.data.get("crash"):
            raise RuntimeError("broken")
        return False

    def receive_crash(self, token, data):
        self.data["crash"] = True


def begun(instances):
    return [bool(row(i).data.get("begun")) for i in instances]


def test_only_two_of_five_run_their_first_node_and_the_others_wait_in_order():
    with testing.frozen_clock() as clock:
        exports = [Export(n=n) for n in range(5)]
        assert begun(exports) == [True, True, False, False, False]
        assert [row(i).status for i in exports[2:]] == [Status.WAITING_FOR_TIME] * 3
        assert not any(statuses(i) for i in exports[2:])  # before their first node
        testing.send(exports[1], "done")
        assert row(exports[1]).status == Status.FINISHED
        assert begun(exports) == [True, True, True, False, False]
        clock.advance(hours=2)  # time alone admits nobody: the places are taken
        assert begun(exports) == [True, True, True, False, False]
        testing.send(exports[0], "done")
        assert begun(exports) == [True, True, True, True, False]


def test_the_limit_holds_per_value_of_the_key():
    with testing.frozen_clock():
        exports = [CustomerExport(customer=name) for name in ("acme", "acme", "zeta", "zeta", "acme")]
        assert begun(exports) == [True, False, True, False, False]
        testing.send(exports[0], "done")
        assert begun(exports) == [True, True, True, False, False]
        testing.send(exports[2], "done")
        assert begun(exports) == [True, True, True, True, False]


def test_cancelling_a_waiting_instance_gives_its_turn_to_the_next(admin_user):
    with testing.frozen_clock():
        exports = [Export(n=n) for n in range(4)]
        instance_actions.perform(row(exports[2]), "cancel", admin_user, reason="Not needed.")
        assert begun(exports) == [True, True, False, False]  # the places stay taken
        testing.send(exports[0], "done")
        assert row(exports[2]).status == Status.CANCELLED
        assert begun(exports) == [True, True, False, True]


def test_cancelling_a_running_instance_frees_its_place(admin_user):
    with testing.frozen_clock():
        exports = [Export(n=n) for n in range(3)]
        instance_actions.perform(row(exports[0]), "cancel", admin_user, reason="Wrong customer.")
        assert begun(exports) == [True, True, True]
        assert row(exports[1]).status in Status.active()  # it keeps its place


def test_killing_a_running_instance_admits_the_next_at_once():
    with testing.frozen_clock():  # no recheck comes: the deletion itself admits the next
        exports = [Export(n=n) for n in range(4)]
        exports[0].kill()
        assert begun(exports[1:]) == [True, True, False]
        assert FlowTicket.objects.filter(automation_id=exports[0].id).count() == 0


def test_an_instance_stopped_by_an_error_frees_its_place():
    with testing.frozen_clock():
        first, second = Crashing(), Crashing()
        assert [statuses(first), statuses(second)] == [["hold"], []]
        testing.send(first, "crash")
        assert row(first).status == Status.FAILED
        assert statuses(second) == ["hold"]


def test_a_waiting_place_is_not_released_while_its_instance_lives():
    with testing.frozen_clock() as clock:
        exports = [Export(n=n) for n in range(3)]
        clock.advance(hours=3)  # waiting instances look again; stale tickets are cleaned up
        places = FlowTicket.objects.filter(node="_instance", released=None)
        assert places.exclude(admitted=None).count() == 2
        assert list(places.filter(admitted=None).values_list("automation_id", flat=True)) == [exports[2].id]


def test_instances_are_admitted_by_automation_step_without_a_worker():
    exports = [Export(n=n) for n in range(3)]
    call_command("automation_step", stdout=StringIO())
    assert begun(exports) == [True, True, False]
    testing.send(exports[0], "done")
    call_command("automation_step", stdout=StringIO())
    assert begun(exports) == [True, True, True]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"concurrency": 0}, r"E051.*Meta\.concurrency is 0, not a whole number"),
        ({"concurrency": True}, r"E051"),
        ({"concurrency": 2, "concurrency_key": 3}, r"E052.*not the name of a key"),
        ({"concurrency_key": "customer"}, r"E052.*without Meta\.concurrency"),
    ],
)
def test_a_bad_class_limit_is_refused_with_a_sentence(meta, message):
    with pytest.raises(AutomationDeclarationError, match=message):
        type("Bad", (flow.Automation,), {"Meta": type("Meta", (), meta), "end": flow.End()})


class Renamed(Export):
    class Meta:
        concurrency = 1
        concurrency_key = "customer"

    def receive_move(self, token, data):
        self.data["customer"] = data


def test_the_key_counts_as_it_was_when_the_instance_started():
    with testing.frozen_clock() as clock:
        first, second = Renamed(customer="acme"), Renamed(customer="acme")
        testing.send(second, "move", "zeta")  # it still waits in acme's queue
        clock.advance(hours=1)
        assert begun([first, second]) == [True, False]
        assert FlowTicket.objects.filter(automation_id=second.id).count() == 1
        testing.send(first, "done")
        assert begun([first, second]) == [True, True]
