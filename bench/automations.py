"""The automations the benchmark runs (a module named ``automations``, as the registry expects)."""

from datetime import timedelta

from automations import flow
from automations.flow import this

SLEEP = timedelta(days=1)


class TenSteps(flow.Automation):
    """Ten ``Execute`` nodes and an ``End``: the throughput workload."""

    step1 = flow.Execute(this.add, 1)
    step2 = flow.Execute(this.add, 2)
    step3 = flow.Execute(this.add, 3)
    step4 = flow.Execute(this.add, 4)
    step5 = flow.Execute(this.add, 5)
    step6 = flow.Execute(this.add, 6)
    step7 = flow.Execute(this.add, 7)
    step8 = flow.Execute(this.add, 8)
    step9 = flow.Execute(this.add, 9)
    step10 = flow.Execute(this.add, 10)
    end = flow.End()

    def add(self, task, number):
        self.data["total"] = self.data.get("total", 0) + number
        return number


class TenSavingSteps(TenSteps):
    """``TenSteps`` whose method also calls ``save()``, as code written for older versions does."""

    def add(self, task, number):
        result = super().add(task, number)
        self.save()
        return result


class EndOnly(flow.Automation):
    """Just an ``End``: the cost of an instance without its ``Execute`` nodes."""

    end = flow.End()


class Sleeper(flow.Automation):
    """Runs one node, then sleeps a day on an ``AfterWaitingFor`` timer."""

    start = flow.Execute(this.note, "started")
    wake = flow.Execute(this.note, "woke").AfterWaitingFor(SLEEP)
    end = flow.End()

    def note(self, task, what):
        self.data[what] = self.data.get(what, 0) + 1
        return what


class Blocked(flow.Automation):
    """Waits on ``AsSoonAs`` until its data says ``ready``."""

    wait = flow.Execute(this.go).AsSoonAs(this.is_ready)
    end = flow.End()

    def is_ready(self, task):
        return bool(self.data.get("ready"))

    def go(self, task):
        return "went"
