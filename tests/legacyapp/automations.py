"""Automations with the node names of the 0.9 sample database (see tests/legacy_db.py).

The sample rows name them ``legacyapp.automations.<Class>``; the tests load those rows under
``tests.legacyapp.automations.<Class>``, the path these classes are registered under.
"""

from datetime import timedelta

from django import forms

from automations import flow
from automations.flow import this


class ApprovalForm(forms.Form):
    approved = forms.BooleanField(required=False)


class Onboarding(flow.Automation):
    welcome = flow.Execute(this.say_hello)
    wait = flow.Execute(this.remind).AfterWaitingFor(timedelta(days=1))
    end = flow.End()

    def say_hello(self, task):
        self.data["said"] = self.data.get("said", 0) + 1

    def remind(self, task):
        self.data["reminded"] = True


class Approval(flow.Automation):
    start = flow.Execute(this.note)
    approve = flow.Form(ApprovalForm, description="Approve the amount").User(username="manager")
    record = flow.Execute(this.record_decision)
    end = flow.End()

    def note(self, task):
        return "noted"

    def record_decision(self, task):
        self.data["decided"] = self.data["approve"]["approved"]


class Parallel(flow.Automation):
    split = flow.Split().Next(this.left).Next(this.right)
    left = flow.Execute(this.mark).Next(this.join)
    right = flow.Execute(this.mark).AfterWaitingFor(timedelta(hours=2)).Next(this.join)
    join = flow.Join()
    after = flow.Execute(this.mark)
    end = flow.End()

    def mark(self, task):
        self.data.setdefault("visited", []).append(task.status)


class Daily(flow.Automation):
    tick = flow.Execute(this.count)
    again = flow.Repeat(this.tick).EveryDay()

    def count(self, task):
        self.data["ticks"] = self.data.get("ticks", 0) + 1


class Waiter(flow.Automation):
    start = flow.Execute(this.noop)
    wait = flow.Execute(this.noop).AsSoonAs(this.is_go)
    end = flow.End()

    def noop(self, task):
        pass

    def is_go(self, task):
        return self.data.get("go", False)

    def receive_go(self, token, data):
        self.data["go"] = True


class Broken(flow.Automation):
    start = flow.Execute(this.divide)
    end = flow.End()

    def divide(self, task):
        return 1 / 0
