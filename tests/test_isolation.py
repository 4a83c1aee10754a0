"""Instances of one class never share run state; node declarations on the class never change."""

import copy
import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection

from automations import flow
from automations.flow import this
from tests.helpers import row, statuses


class Counter(flow.Automation):
    start = flow.Execute(this.add, False, 1)
    split = flow.Split().Next(this.left).Next(this.right)
    left = flow.Execute(this.add, False, 10).Next(this.meet)
    right = flow.Execute(this.add, False, 100).AsSoonAs(this.allowed)
    meet = flow.Join()
    check = flow.If(this.is_big).Then(this.big).Else(this.done)
    big = flow.Execute(this.add, False, 1000)
    done = flow.End()

    def add(self, task, amount):
        self.data["total"] = self.data.get("total", 0) + amount
        self.data.setdefault("nodes", []).append(task.status)

    def allowed(self, task):
        return self.data.get("allowed", False)

    def is_big(self, task):
        return self.user.username == "big" if "user" in self.data else False

    def receive_allow(self, token, data):
        self.data["allowed"] = True


def declarations(cls):
    return {name: copy.copy(vars(node)) for name, node in cls._nodes.items()}


@pytest.mark.django_db
def test_running_instances_leaves_the_class_node_declarations_unchanged():
    before = declarations(Counter)
    nodes_before = dict(Counter._nodes)
    small, big = User.objects.create(username="small"), User.objects.create(username="big")
    first, second = Counter(user=small), Counter(user=big)
    first.send_message("allow")
    second.send_message("allow")
    assert declarations(Counter) == before
    assert Counter._nodes == nodes_before
    assert all(node._automation is None for node in Counter._nodes.values())
    assert first.start is not second.start is not Counter.start
    assert first.start._automation is first and second.start._automation is second


@pytest.mark.django_db
def test_two_instances_of_one_class_in_one_thread_do_not_affect_each_other():
    small, big = User.objects.create(username="small"), User.objects.create(username="big")
    first = Counter(user=small, autorun=False)
    second = Counter(user=big, autorun=False)
    first.run()
    second.run()
    assert first.user == small and second.user == big
    second.send_message("allow")
    assert row(second).data["total"] == 1111
    assert row(first).data["total"] == 11
    assert not first.finished() and second.finished()
    first.send_message("allow")
    assert row(first).data["total"] == 111
    assert row(first).data["nodes"] == ["start", "left", "right"]
    assert "big" not in statuses(first) and "big" in statuses(second)


@pytest.mark.django_db
def test_an_instance_started_inside_another_instances_step_runs_on_its_own():
    class Spawner(flow.Automation):
        spawn = flow.Execute(this.maybe_spawn)
        mark = flow.Execute(this.record)
        end = flow.End()

        def maybe_spawn(self, task):
            if self.data["depth"] < 2:
                child = Spawner(depth=self.data["depth"] + 1)
                self.data["child"] = child.id
                self.data["child_finished"] = child.finished()

        def record(self, task):
            self.data["recorded_by"] = self.id

    root = Spawner(depth=0)
    child = row(root.data["child"])
    grandchild = row(child.data["child"])
    assert root.data["recorded_by"] == root.id and root.data["child_finished"] is True
    assert child.data["recorded_by"] == child.pk and grandchild.data["recorded_by"] == grandchild.pk
    assert "child" not in grandchild.data


@pytest.mark.django_db(transaction=True)
def test_instances_run_in_several_threads_at_once_stay_apart():
    errors, ids = [], {}

    def work(name):
        try:
            user = User.objects.create(username=name)
            instances = [Counter(user=user) for _ in range(4)]
            for instance in instances:
                instance.send_message("allow")
            ids[name] = [instance.id for instance in instances]
        except Exception as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("big", "small")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert {row(pk).data["total"] for pk in ids["big"]} == {1111}
    assert {row(pk).data["total"] for pk in ids["small"]} == {111}
