"""Automations shared by the tests; discovered at start-up as the test app's automations module."""

import os
import time
from datetime import timedelta

from django.utils import timezone

from automations import flow
from automations.flow import this
from automations.flow.retrying import pending_retry

from .models import Counter, NodeEffect
from .signals import order_placed


class EffectChain(flow.Automation):
    """Five nodes, each leaving one effect that may happen only once per instance."""

    class Meta:
        verbose_name = "Effect chain"

    first = flow.Execute(this.effect)
    second = flow.Execute(this.effect)
    third = flow.Execute(this.effect)
    fourth = flow.Execute(this.effect)
    fifth = flow.Execute(this.effect)
    end = flow.End()

    def effect(self, task):
        NodeEffect.objects.create(automation_id=self.id, node=task.status)
        Counter.increment("effects")
        return task.status


class RetriedEffect(flow.Automation):
    """A call that fails until its third attempt, 3 s apart; the third leaves one effect.

    Each attempt appends "<attempt> <pid>" to the file ``ATM_TEST_ATTEMPTS_FILE`` names, outside the
    database, so that a test sees every attempt that ran, also those a failure rolled back.
    """

    call = flow.Execute(this.attempt).Retry(attempts=3, backoff=3, on=ConnectionError)
    end = flow.End()

    def attempt(self, task):
        pending = pending_retry(task)
        number = 1 if pending is None else pending.attempt
        with open(os.environ["ATM_TEST_ATTEMPTS_FILE"], "a") as attempts:
            attempts.write(f"{number} {os.getpid()}\n")
        if number < 3:
            raise ConnectionError("service unavailable")
        NodeEffect.objects.create(automation_id=self.id, node=f"paid at attempt {number}")


class Inbox(flow.Automation):
    """Waits for notes; the target of messages sent by dotted path."""

    wait = flow.Execute(this.noop).AsSoonAs(this.has_enough_notes)
    end = flow.End()

    def noop(self, task):
        return len(self.data.get("notes", []))

    def has_enough_notes(self, task):
        return len(self.data.get("notes", [])) >= self.data.get("needed", 1)

    def receive_note(self, token, data):
        self.data.setdefault("notes", []).append({"token": token, "data": data})
        return f"noted {token}"


@flow.on_signal(order_placed)
class OrderFollowUp(flow.Automation):
    """Started by the ``order_placed`` signal."""

    thank = flow.Execute(this.thank_customer)
    end = flow.End()

    def started_by_signal(self, sender, order_number, **kwargs):
        self.data["order_number"] = order_number
        self.data["sender"] = sender

    def thank_customer(self, task):
        self.data["thanked"] = self.data["order_number"]


class Napper(flow.Automation):
    """Naps for ``data["seconds"]`` (default 2), then notes when it woke; wakes early on ``wake_up``."""

    nap = flow.Execute(this.note_waking).AfterWaitingFor(this.nap_length)
    chores = flow.Execute(this.effect).AsSoonAs(this.is_awake)
    end = flow.End()

    def nap_length(self, task):
        return timedelta(seconds=self.data.get("seconds", 2))

    def note_waking(self, task):
        self.data["woke_at"] = timezone.now().isoformat()

    def is_awake(self, task):
        return self.data.get("awake", not self.data.get("sleepy", False))

    def effect(self, task):
        NodeEffect.objects.create(automation_id=self.id, node=task.status)

    def receive_wake_up(self, token, data):
        self.data["awake"] = True
        return "awake"

    @flow.require_data_parameters(room=int)
    def receive_visit(self, token, data):
        self.data.setdefault("visits", []).append(
            {"token": token, "room": data.GET["room"] if hasattr(data, "GET") else data["room"],
             "user": getattr(getattr(data, "user", None), "username", None),
             "path": getattr(data, "path", None)}
        )  # fmt: skip


class FanOutAndWait(flow.Automation):
    """Splits into three paths: one runs at once, one after a short timer, one after a message.

    Every ``Execute`` node records an effect that may happen only once per instance, and notes the
    worker process that ran it. Started with ``note`` in its data, it needs no message. ``n`` tells
    instances apart: an ``automation.start`` event that reaches two workers starts one instance.
    """

    unique = ["n"]

    begin = flow.Execute(this.effect)
    fan = flow.Split().Next(this.quick).Next(this.nap).Next(this.inbox)
    quick = flow.Execute(this.effect).Next(this.meet)
    nap = flow.Execute(this.effect).AfterWaitingFor(timedelta(seconds=1)).Next(this.meet)
    inbox = flow.Execute(this.effect).AsSoonAs(this.has_note).Next(this.meet)
    meet = flow.Join()
    done = flow.Execute(this.effect)
    end = flow.End()

    effect_nodes = ("begin", "quick", "nap", "inbox", "done")

    def effect(self, task):
        NodeEffect.objects.create(automation_id=self.id, node=task.status, worker=os.getpid())
        return task.status

    def has_note(self, task):
        return "note" in self.data

    def receive_note(self, token, data):
        self.data["note"] = token
        return "noted"


class MeteredCall(flow.Automation):
    """A call that at most three instances per customer run at once, counted in Redis while it runs.

    ``run`` names the test run (the Redis keys); a call leaves an effect that may happen only once.
    """

    call = flow.Execute(this.work).Concurrency(3, key="customer")
    end = flow.End()

    def work(self, task):
        import redis  # installed with channels-redis; only the flow-control tests run this node

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        running = f"{self.data['run']}:{self.data['customer']}"
        client.rpush(f"{running}:seen", client.incr(running))
        time.sleep(0.3)  # the call takes a while, so that calls of other workers overlap it
        client.decr(running)
        NodeEffect.objects.create(automation_id=self.id, node=task.status, worker=os.getpid())


class MeteredInstance(flow.Automation):
    """At most two instances per customer active at once, counted in Redis from first node to last.

    ``run`` names the test run (the Redis keys); the last node leaves an effect that may happen once.
    """

    class Meta:
        concurrency = 2
        concurrency_key = "customer"

    enter = flow.Execute(this.count_in)
    leave = flow.Execute(this.count_out)
    end = flow.End()

    def count_in(self, task):
        import redis  # installed with channels-redis; only the flow-control tests run this node

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        active = f"{self.data['run']}:{self.data['customer']}"
        client.rpush(f"{active}:seen", client.incr(active))

    def count_out(self, task):
        import redis

        time.sleep(0.3)  # the instance stays a while, so that instances of other workers overlap it
        redis.Redis.from_url(os.environ["REDIS_URL"]).decr(f"{self.data['run']}:{self.data['customer']}")
        NodeEffect.objects.create(automation_id=self.id, node=task.status, worker=os.getpid())


class LongCallWork(flow.Automation):
    """A threaded call for a task backend's worker: the first attempt hangs until it is killed.

    ``flags`` is a folder where each attempt leaves a file; the call's database effect (a
    ``NodeEffect``) commits only with its outcome, so a killed attempt leaves none.
    """

    work = flow.Execute(this.slow_work, threaded=True)
    end = flow.End()

    def slow_work(self, task):
        flags = self.data["flags"]
        attempt = len(os.listdir(flags)) + 1
        with open(os.path.join(flags, f"attempt-{attempt}"), "w") as flag:
            flag.write(str(os.getpid()))
        NodeEffect.objects.create(automation_id=self.id, node=task.status, worker=os.getpid())
        if attempt == 1:
            time.sleep(60)  # killed long before
        self.data["attempts_seen"] = attempt
        return {"attempt": attempt}
