from datetime import timedelta

import pytest

from automations import flow
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel

pytestmark = pytest.mark.django_db


class Linear(flow.Automation):
    start = flow.Execute(this.first)
    second = flow.Execute(this.second_step)
    end = flow.End()

    def first(self, task):
        self.data["calls"] = self.data.get("calls", 0) + 1
        return 1

    def second_step(self, task):
        return {"ok": True}


class Waiting(flow.Automation):
    start = flow.Execute(this.go)
    pause = flow.Execute(this.go).AfterWaitingFor(timedelta(minutes=5))
    end = flow.End()

    def go(self, task):
        self.data["n"] = self.data.get("n", 0) + 1


def test_linear():
    a = Linear()
    assert a.finished()
    tasks = list(AutomationTaskModel.objects.filter(automation_id=a.id).order_by("pk"))
    assert [t.status for t in tasks] == ["start", "second", "end"]
    assert tasks[0].result == 1
    assert AutomationModel.objects.get(pk=a.id).data == {"calls": 1}


def test_waiting(clock):
    a = Waiting()
    assert not a.finished()
    assert a.data == {"n": 1}
    clock.jump(minutes=4)
    AutomationModel.run()
    assert not a.finished()
    clock.jump(minutes=2)
    counts = AutomationModel.run()
    assert counts["advanced"] == 1
    assert a.finished()
