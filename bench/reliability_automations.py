"""The automations of the reliability benchmark (``bench/reliability.py``).

Every effectful node, and the message receiver, inserts one row into ``EFFECTS``, a table the
benchmark creates in its own database. The row is written in the node's transaction, so that a
step rolled back (a killed worker) leaves none, and a node that runs twice leaves two.
"""

import os
import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from automations import flow
from automations.flow import this
from automations.flow.retrying import pending_retry
from bench.automations import PING_CHANNEL

EFFECTS = "atm_bench_effect"
TIMER = timedelta(seconds=4)
RETRY_PAUSE = timedelta(seconds=2)
RETRY_ATTEMPTS = 3

CREATE_EFFECTS = f"""
CREATE TABLE {EFFECTS} (
    id bigserial PRIMARY KEY,
    automation_id bigint NOT NULL,
    n integer NOT NULL,
    node varchar(40) NOT NULL,
    pid integer NOT NULL,
    ran timestamptz NOT NULL,
    due timestamptz
)
"""


def record(automation, node, due=None):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECTS} (automation_id, n, node, pid, ran, due) VALUES (%s, %s, %s, %s, %s, %s)",
            [automation.id, automation.data["n"], node, os.getpid(), timezone.now(), due],
        )


class Recording(flow.Automation):
    class Meta:
        abstract = True

    def effect(self, task):
        record(self, task.status)


class Linear(Recording):
    """Five ``Execute`` nodes one after the other."""

    one = flow.Execute(this.effect)
    two = flow.Execute(this.effect)
    three = flow.Execute(this.effect)
    four = flow.Execute(this.effect)
    five = flow.Execute(this.effect)
    end = flow.End()


class SplitJoin(Recording):
    """Three parallel paths of one node each, joined, then one more node."""

    fork = flow.Split().Next(this.left).Next(this.middle).Next(this.right)
    left = flow.Execute(this.effect).Next(this.join)
    middle = flow.Execute(this.effect).Next(this.join)
    right = flow.Execute(this.effect).Next(this.join)
    join = flow.Join()
    after = flow.Execute(this.effect)
    end = flow.End()


class MessageWaiting(Recording):
    """One node, then a node that waits for the message ``go``; the receiver is an effect too."""

    begin = flow.Execute(this.effect)
    answer = flow.Execute(this.effect).AsSoonAs(this.has_message)
    end = flow.End()

    def has_message(self, task):
        return "message" in self.data

    def receive_go(self, token, data):
        record(self, "receive")
        self.data["message"] = token


class Timed(Recording):
    """One node, then a node that runs ``TIMER`` after it was reached and records its due time."""

    arm = flow.Execute(this.effect)
    fire = flow.Execute(this.fire_effect).AfterWaitingFor(TIMER)
    end = flow.End()

    def fire_effect(self, task):
        record(self, task.status, due=task.created + TIMER)


class Retried(Recording):
    """One node, then a call that fails until its last attempt, ``RETRY_PAUSE`` apart.

    A failed attempt's effect is rolled back with it; the last attempt records ``paid`` if it is the
    attempt its number says (``RETRY_ATTEMPTS``): an attempt lost or counted twice records another
    node's name, and ``paid`` counts as lost.
    """

    begin = flow.Execute(this.effect)
    call = flow.Execute(this.call_service).Retry(
        attempts=RETRY_ATTEMPTS, backoff=RETRY_PAUSE, on=ConnectionError
    )
    end = flow.End()

    def call_service(self, task):
        pending = pending_retry(task)
        attempt = 1 if pending is None else pending.attempt
        record(self, f"attempt-{attempt}")  # rolled back with every failed attempt
        if attempt < RETRY_ATTEMPTS:
            raise ConnectionError("service unavailable")
        record(self, "paid" if attempt == RETRY_ATTEMPTS else f"paid-at-{attempt}")


class Subtask(Recording):
    """The child of ``Parenting``: one node (its effect counts for the parent's start number)."""

    work = flow.Execute(this.effect)
    end = flow.End()


class Parenting(Recording):
    """One node, a ``SubAutomation`` (a ``Subtask`` child, awaited), then one more node."""

    begin = flow.Execute(this.effect)
    child = flow.SubAutomation(Subtask, data=this.child_data).Into("child")
    after = flow.Execute(this.effect)
    end = flow.End()

    def child_data(self, task):
        return {"n": self.data["n"]}


KINDS = {
    # kind: (class, the effects one instance records)
    "linear": (Linear, ("one", "two", "three", "four", "five")),
    "split/join": (SplitJoin, ("left", "middle", "right", "after")),
    "message": (MessageWaiting, ("begin", "receive", "answer")),
    "timed": (Timed, ("arm", "fire")),
    "retry": (Retried, ("begin", f"attempt-{RETRY_ATTEMPTS}", "paid")),
    "sub-automation": (Parenting, ("begin", "work", "after")),
}


class Answering(flow.Automation):
    """Waits for the message ``go``; its node tells a listening benchmark when its step has committed."""

    answer = flow.Execute(this.announce).AsSoonAs(this.has_message)
    end = flow.End()

    def has_message(self, task):
        return "message" in self.data

    def receive_go(self, token, data):
        self.data["message"] = token

    def announce(self, task):
        with connection.cursor() as cursor:  # NOTIFY is delivered when the transaction commits
            cursor.execute("SELECT pg_notify(%s, %s)", [PING_CHANNEL, str(self.id)])


# -- the fault scenarios (bench/reliability_faults.py) ------------------------------------------------

HOLD_FILE = "ATM_BENCH_HOLD_FILE"  # the environment variable naming the file Holding writes its pid to


def _sent(data):
    return datetime.fromtimestamp(data["sent"], UTC)


class Stamped(Recording):
    """Waits for the message ``go``, which carries the moment it was sent; its node records that as due."""

    answer = flow.Execute(this.stamp).AsSoonAs(this.has_message)
    end = flow.End()

    def has_message(self, task):
        return "sent" in self.data

    def receive_go(self, token, data):
        record(self, "receive", due=_sent(data))
        self.data["sent"] = data["sent"]

    def stamp(self, task):
        record(self, task.status, due=_sent(self.data))


class Holding(Recording):
    """Holds its row: the message ``hold`` releases a node that tells the benchmark which process
    runs it, then sleeps ``seconds`` (the message's data) in the message's step.

    The ``messages`` messages ``go`` sent to it meanwhile wait for the row; each receiver records
    an effect of its own (``receive-<token>``), and once all have come the node ``done`` runs.
    """

    hold = flow.Execute(this.sleep).AsSoonAs(this.asked)
    done = flow.Execute(this.effect).AsSoonAs(this.all_received)
    end = flow.End()

    def asked(self, task):
        return "seconds" in self.data

    def receive_hold(self, token, data):
        self.data["seconds"] = data["seconds"]

    def all_received(self, task):
        return self.data.get("received", 0) >= self.data["messages"]

    def sleep(self, task):
        record(self, task.status)
        with open(os.environ[HOLD_FILE], "w") as announce:
            announce.write(f"{os.getpid()} {self.id}")
        time.sleep(self.data["seconds"])

    def receive_go(self, token, data):
        record(self, f"receive-{token}", due=_sent(data))
        self.data["received"] = self.data.get("received", 0) + 1
