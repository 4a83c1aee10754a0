"""One automation class in three releases, for the deploy tests: v1, v2 without a mapping, v2.

``declare(release)`` declares ``tests.deploy_flows.Journey`` as that release and registers it in
place of the one before, as a deploy of new code does. v1 has a node of every kind of waiting:
for time (``wait_time``), for a person (``ask``), for a message (``wait_message``), inside a
Split (``left`` waits for a message, ``right`` for time) and at its Join (``merge``). v2 renames
``wait_time``, removes ``wait_message``, inserts ``remind`` before ``ask`` and changes the Split
(``right`` replaced by ``right_v2``, a new path ``audit``); "v2" says so in its ``Meta`` and with
``flow.Obsolete``, "v2-unmapped" does not. Every effect is a ``NodeEffect`` row, unique per
instance and label: an effect that happened twice fails its node.
"""

import os
from datetime import timedelta

from django import forms

from automations import flow
from automations.flow import this
from tests.testapp.models import NodeEffect

RELEASES = ("v1", "v2-unmapped", "v2")


class ApprovalForm(forms.Form):
    approved = forms.BooleanField(required=False)


def record(automation_id, label):
    NodeEffect.objects.create(automation_id=automation_id, node=label, worker=os.getpid())


def effect(label):
    def run(task):
        record(task.automation_id, label)

    run.__name__ = f"effect_{label}"
    return run


class Common(flow.Automation):
    """What every release shares: the receiver and the conditions."""

    class Meta:
        abstract = True

    def receive_news(self, token, data):
        self.data[token] = True

    def got_message(self, task):
        return "message" in self.data

    def left_ready(self, task):
        return "left" in self.data

    def finish(self, task):
        record(self.id, f"done-v{self.started_version}")


def declare(release):
    """Declare and register ``Journey`` as ``release`` (one of :data:`RELEASES`); return the class."""
    assert release in RELEASES
    if release == "v1":

        class Journey(Common):
            __module__, __qualname__ = __name__, "Journey"

            begin = flow.Execute(effect("begin"))
            wait_time = flow.Execute(effect("timer")).AfterWaitingFor(timedelta(hours=1))
            ask = flow.Form(ApprovalForm, description="Approve the journey")
            wait_message = flow.Execute(effect("message")).AsSoonAs(this.got_message)
            fan_out = flow.Split().Next(this.left).Next(this.right)
            left = flow.Execute(effect("left")).AsSoonAs(this.left_ready).Next(this.merge)
            right = flow.Execute(effect("right")).AfterWaitingFor(timedelta(hours=2)).Next(this.merge)
            merge = flow.Join()
            done = flow.Execute(this.finish)
            end = flow.End()

        return Journey

    mapped = release == "v2"

    class Journey(Common):  # noqa: F811 - the next release of the same class
        __module__, __qualname__ = __name__, "Journey"

        class Meta:
            version = 2
            if mapped:
                renamed_nodes = {"wait_time": "wait_an_hour"}
                reviewed_changes = {"fan_out": "instances already inside go on without the audit path"}

        begin = flow.Execute(effect("begin"))
        wait_an_hour = flow.Execute(effect("timer")).AfterWaitingFor(timedelta(hours=1))
        remind = flow.Execute(effect("remind"))
        ask = flow.Form(ApprovalForm, description="Approve the journey")
        if mapped:
            wait_message = flow.Obsolete(this.fan_out)
        fan_out = flow.Split().Next(this.left).Next(this.right_v2).Next(this.audit)
        left = flow.Execute(effect("left")).AsSoonAs(this.left_ready).Next(this.merge)
        if mapped:
            right = flow.Obsolete(this.right_v2)
        right_v2 = flow.Execute(effect("right")).AfterWaitingFor(timedelta(hours=2)).Next(this.merge)
        audit = flow.Execute(effect("audit")).Next(this.merge)
        merge = flow.Join()
        done = flow.Execute(this.finish)
        end = flow.End()

    return Journey
