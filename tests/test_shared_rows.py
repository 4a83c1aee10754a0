"""Objects of one instance in one thread see each other's changes without a query."""

from datetime import timedelta

import pytest

from automations import flow
from automations.flow import this
from automations.models import AutomationModel

pytestmark = pytest.mark.django_db


class Journey(flow.Automation):
    greet = flow.Execute(this.note, False, "greeted")
    later = flow.Execute(this.note, False, "reminded").AfterWaitingFor(timedelta(minutes=5))
    wait = flow.Execute(this.note, False, "converted").AsSoonAs(this.converted)
    end = flow.End()

    def note(self, task, what):
        self.data.setdefault("notes", []).append(what)

    def converted(self, task):
        return self.data.get("converted", False)

    def receive_buy(self, token, data):
        self.data["converted"] = True


def test_a_sweep_through_another_object_shows_in_the_first(clock):
    journey = Journey()
    clock.jump(minutes=5)
    AutomationModel.run()
    assert journey.data["notes"] == ["greeted", "reminded"]


def test_a_broadcast_shows_in_the_object_kept_by_the_caller(clock):
    journey = Journey()
    clock.jump(minutes=5)
    Journey.broadcast_message("buy", None, {})
    assert journey.data["notes"] == ["greeted", "reminded", "converted"]
    assert journey.finished()


def test_an_object_bound_by_id_is_the_same_row_object():
    journey = Journey()
    again = Journey(automation_id=journey.id)
    again.data["extra"] = 1
    assert journey.data["extra"] == 1


def test_a_recycled_id_is_not_mistaken_for_the_old_instance():
    old = Journey()
    old_id, old_data = old.id, dict(old.data)
    AutomationModel.objects.filter(pk=old_id).delete()
    new = AutomationModel.objects.create(pk=old_id, automation_class=Journey.get_automation_class_name())
    fresh = Journey(automation=new)
    assert fresh.data == {} and fresh.get_key() == new.key
    assert old.data == old_data


def test_advancing_by_id_starts_from_the_locked_row_not_an_older_object(clock):
    from automations import engine

    journey = Journey()  # kept alive: this thread's shared row object for the instance
    AutomationModel.objects.filter(pk=journey.id).update(data={**journey.data, "converted": True})
    clock.jump(minutes=6)
    engine.advance(journey.id)  # e.g. the worker after another process's message
    row = AutomationModel.objects.get(pk=journey.id)
    assert row.data["converted"] is True and row.finished
    assert row.data["notes"] == ["greeted", "reminded", "converted"]
