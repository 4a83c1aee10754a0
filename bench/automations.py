"""The automations the benchmark runs (a module named ``automations``, as the registry expects)."""

from datetime import timedelta

from automations import flow
from automations.flow import this

SLEEP = timedelta(days=1)


class TenSteps(flow.Automation):
    """Ten ``Execute`` nodes and an ``End``: the throughput workload."""

    step1 = flow.Execute(this.add, False, 1)
    step2 = flow.Execute(this.add, False, 2)
    step3 = flow.Execute(this.add, False, 3)
    step4 = flow.Execute(this.add, False, 4)
    step5 = flow.Execute(this.add, False, 5)
    step6 = flow.Execute(this.add, False, 6)
    step7 = flow.Execute(this.add, False, 7)
    step8 = flow.Execute(this.add, False, 8)
    step9 = flow.Execute(this.add, False, 9)
    step10 = flow.Execute(this.add, False, 10)
    end = flow.End()

    def add(self, task, number):
        self.data["total"] = self.data.get("total", 0) + number
        return number


class TenSavingSteps(TenSteps):
    """``TenSteps`` whose method also calls ``save()``: the like-for-like workload of the side-by-side
    benchmark (each step saves the instance's data, as a DBOS step's output is checkpointed and a
    Viewflow ``Function`` saves its process), and what code written for older versions does."""

    def add(self, task, number):
        result = super().add(task, number)
        self.save()
        return result


class EndOnly(flow.Automation):
    """Just an ``End``: the cost of an instance without its ``Execute`` nodes."""

    end = flow.End()


class Sleeper(flow.Automation):
    """Runs one node, then sleeps a day on an ``AfterWaitingFor`` timer."""

    start = flow.Execute(this.note, False, "started")
    wake = flow.Execute(this.note, False, "woke").AfterWaitingFor(SLEEP)
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


class Pinged(flow.Automation):
    """One node that tells a listening benchmark, through PostgreSQL, when its step has committed."""

    ping = flow.Execute(this.announce)
    end = flow.End()

    def announce(self, task):
        from django.db import connection

        if connection.vendor == "postgresql":  # NOTIFY is delivered when the transaction commits
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [PING_CHANNEL, str(self.id)])


PING_CHANNEL = "atm_bench_ping"
NAP = timedelta(milliseconds=200)


class Napper(flow.Automation):
    """Naps 200 ms, then notes how late (in ms) its node ran after it was due."""

    start = flow.Execute(this.begin)
    nap = flow.Execute(this.note_lateness).AfterWaitingFor(NAP)
    end = flow.End()

    def begin(self, task):
        return "begun"

    def note_lateness(self, task):
        from django.utils import timezone

        return (timezone.now() - task.created - NAP).total_seconds() * 1000


SECOND = timedelta(seconds=1)


class SecondSleeper(flow.Automation):
    """Sleeps one second on ``AfterWaitingFor``, then notes how late (in ms) its node ran.

    The woken node writes the lateness into the instance's data and saves it, as a node that acts
    on waking would (a DBOS step's output is checkpointed alike); it is also the node's result.
    """

    start = flow.Execute(this.begin)
    sleep = flow.Execute(this.note_lateness).AfterWaitingFor(SECOND)
    end = flow.End()

    def begin(self, task):
        return "begun"

    def note_lateness(self, task):
        from django.utils import timezone

        lateness = (timezone.now() - task.created - SECOND).total_seconds() * 1000
        self.data["lateness_ms"] = lateness
        self.save()
        return lateness


class FanOutFour(flow.Automation):
    """Splits into four paths of one ``Execute`` each, joins them, then ends.

    Each branch adds to the instance's data and saves it (as ``TenSavingSteps`` does), as each
    Viewflow branch saves its process and each DBOS step's output is checkpointed.
    """

    fan = flow.Split().Next(this.one).Next(this.two).Next(this.three).Next(this.four)
    one = flow.Execute(this.add, False, 1).Next(this.meet)
    two = flow.Execute(this.add, False, 2).Next(this.meet)
    three = flow.Execute(this.add, False, 3).Next(this.meet)
    four = flow.Execute(this.add, False, 4).Next(this.meet)
    meet = flow.Join()
    end = flow.End()

    def add(self, task, number):
        self.data["total"] = self.data.get("total", 0) + number
        self.save()
        return number


class Released(flow.Automation):
    """Waits for the message ``go``; its node notes when it ran and, on PostgreSQL, pings at commit."""

    answer = flow.Execute(this.announce).AsSoonAs(this.has_message)
    end = flow.End()

    def has_message(self, task):
        return "message" in self.data

    def receive_go(self, token, data):
        self.data["message"] = token

    def announce(self, task):
        import time

        from django.db import connection

        if connection.vendor == "postgresql":  # NOTIFY is delivered when the transaction commits
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [PING_CHANNEL, str(self.id)])
        return time.time()


class FanOutItems(flow.Automation):
    """One path per item of ``items``, all at once; each squares its item; the Join collects them."""

    spread = flow.ForEach("items").Do(this.square).Into("squares")
    square = flow.Execute(this.square_item).Next(this.joined)
    joined = flow.Join()
    end = flow.End()

    def square_item(self, task):
        return self.item * self.item


class FanOutLimited(FanOutItems):
    """``FanOutItems`` with at most 100 paths at once."""

    spread = flow.ForEach("items").Do(this.square).Limit(100).Into("squares")


class LimitedCall(flow.Automation):
    """A call of ``seconds`` (data) that at most three instances per customer make at once.

    The call notes when it began and ended (``time.time()``) in the instance's data.
    """

    call = flow.Execute(this.work).Concurrency(3, key="customer")
    end = flow.End()

    def work(self, task):
        import time

        self.data["began"] = time.time()
        time.sleep(self.data["seconds"])
        self.data["ended"] = time.time()


class LimitedInstance(LimitedCall):
    """``LimitedCall`` without a node limit, but at most three active instances per customer."""

    class Meta:
        concurrency = 3
        concurrency_key = "customer"

    call = flow.Execute(this.work)
