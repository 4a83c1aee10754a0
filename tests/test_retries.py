"""Retries: a failing call tried again after a backoff, each attempt durable, no thread held between."""

from datetime import timedelta

import pytest
from django.db import connection

from automations import flow
from automations.flow import this
from automations.flow.declaration import AutomationDeclarationError
from automations.flow.retrying import Exponential, Fixed, pending_retry
from automations.models import AutomationModel, AutomationTaskModel, Status
from tests.helpers import row

pytestmark = pytest.mark.django_db

CALLS: dict[str, list] = {}  # outside the database: a failed attempt's data changes are rolled back


@pytest.fixture(autouse=True)
def _no_calls_yet():
    CALLS.clear()
    yield
    CALLS.clear()


class Payment(flow.Automation):
    charge = (
        flow.Execute(this.call_provider)
        .Retry(attempts=4, backoff=Exponential(first=timedelta(seconds=10), factor=3), on=(ConnectionError,))
        .OnError(this.manual)
    )
    done = flow.Execute(this.note, False, "charged").Next(this.end)
    manual = flow.Execute(this.note, False, "manual")
    end = flow.End()

    def call_provider(self, task):
        calls = CALLS.setdefault(self.data["customer"], [])
        calls.append(task.created)
        self.data["touched"] = True  # undone with the failed attempt
        if len(calls) <= self.data["failures"]:
            raise ConnectionError(f"provider down ({len(calls)})")
        return {"charged": self.data["amount"]}

    def note(self, task, text):
        self.data["outcome"] = text


def charge_task(automation):
    return AutomationTaskModel.objects.filter(automation_id=automation.id, status="charge").get()


def test_a_failing_call_waits_for_time_and_succeeds_at_a_later_attempt(clock):
    payment = Payment(customer="kim", amount=12, failures=2)
    task = charge_task(payment)
    pending = pending_retry(task)
    assert task.finished is None and pending.attempt == 2 and pending.attempts == 4
    assert pending.at == clock.now + timedelta(seconds=10)
    assert pending.error == "ConnectionError('provider down (1)')"
    assert row(payment).status == Status.WAITING_FOR_TIME
    assert row(payment).wake_at == pending.at
    assert "touched" not in row(payment).data

    clock.jump(seconds=9)
    AutomationModel.run()
    assert len(CALLS["kim"]) == 1  # not due yet
    clock.jump(seconds=1)
    AutomationModel.run()
    assert len(CALLS["kim"]) == 2
    pending = pending_retry(charge_task(payment))
    assert pending.attempt == 3 and pending.at == clock.now + timedelta(seconds=30)

    clock.jump(seconds=30)
    AutomationModel.run()
    task = charge_task(payment)
    assert task.finished is not None and task.message == "OK, attempt 3 of 4"
    assert task.result == {"charged": 12}
    assert row(payment).data["outcome"] == "charged" and row(payment).finished


def test_after_the_last_attempt_the_on_error_route_applies(clock):
    payment = Payment(customer="ann", amount=5, failures=10)
    for seconds in (10, 30, 90):
        clock.jump(seconds=seconds)
        AutomationModel.run()
    assert len(CALLS["ann"]) == 4
    task = charge_task(payment)
    assert task.finished is not None and task.message == "ConnectionError('provider down (4)')"
    assert task.result["exception"] == "builtins.ConnectionError"
    assert row(payment).data["outcome"] == "manual"


class Strict(flow.Automation):
    call = flow.Execute(this.fail).Retry(attempts=3, backoff=5, on=ConnectionError)
    end = flow.End()

    def fail(self, task):
        CALLS.setdefault("strict", []).append(1)
        raise ValueError("not a connection problem")


def test_an_exception_the_policy_does_not_name_fails_at_once():
    strict = Strict()
    assert row(strict).status == Status.FAILED and len(CALLS["strict"]) == 1
    assert "ValueError" in row(strict).error


class GivingUp(flow.Automation):
    call = flow.Execute(this.fail).Retry(attempts=10, backoff=this.pause)
    end = flow.End()

    def fail(self, task):
        CALLS.setdefault("giving_up", []).append(1)
        raise TimeoutError("slow")

    def pause(self, exception, attempt):
        """Shaped like django.tasks' proposed backoff: seconds, or None to give up."""
        return None if attempt >= 2 else 60


def test_a_callable_backoff_gives_the_pause_and_may_give_up(clock):
    giving_up = GivingUp()
    assert pending_retry(AutomationTaskModel.objects.get(automation_id=giving_up.id)).at == (
        clock.now + timedelta(seconds=60)
    )
    clock.jump(minutes=1)
    AutomationModel.run()
    assert len(CALLS["giving_up"]) == 2
    assert row(giving_up).status == Status.FAILED


def test_jitter_spreads_pauses_between_half_and_all_of_the_exponential_pause():
    backoff = Exponential(first=10, factor=2, maximum=timedelta(seconds=60), jitter=True)
    error = ConnectionError()
    pauses = [backoff(error, attempt).total_seconds() for attempt in (1, 2, 3, 4, 5) for _ in range(20)]
    assert all(5 <= pause <= 10 for pause in pauses[:20])
    assert all(30 <= pause <= 60 for pause in pauses[-20:])  # 160 s capped at the maximum
    assert len(set(pauses)) > 50
    assert Fixed(timedelta(minutes=2))(error, 7) == timedelta(minutes=2)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"attempts": 0}, "attempts must be a whole number of at least 1, not 0"),
        ({"backoff": "soon"}, None),  # a string names a method: checked with the class
        ({"backoff": object()}, "backoff must be seconds, a timedelta"),
        ({"on": "ConnectionError"}, "on must be an exception class or a tuple of them"),
        ({"backoff": -1}, "must not be negative"),
    ],
)
def test_bad_retry_arguments_are_declaration_errors(arguments, words):
    if words is None:
        flow.Execute(this.x).Retry(**arguments)
        return
    with pytest.raises(AutomationDeclarationError, match=words):
        flow.Execute(this.x).Retry(**arguments)


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_attempts_loses_none_and_repeats_none(clock):
    payment = Payment(customer="lee", amount=7, failures=1)
    assert len(CALLS["lee"]) == 1
    connection.close()  # the process that ran attempt 1 is gone; all it knew is in the database
    clock.jump(seconds=5)
    assert AutomationModel.run()["advanced"] == 0  # nothing due before the pause is over
    clock.jump(seconds=5)
    AutomationModel.run()
    AutomationModel.run()  # a second worker or sweep finds nothing more to do
    assert len(CALLS["lee"]) == 2
    assert row(payment).finished and charge_task(payment).message == "OK, attempt 2 of 4"


class Crashing(flow.Automation):
    call = flow.Execute(this.crash).Retry(attempts=3, backoff=10)
    end = flow.End()

    def crash(self, task):
        CALLS.setdefault("crashing", []).append(1)
        if len(CALLS["crashing"]) == 2:
            raise SystemExit("the worker is killed during attempt 2")
        raise ConnectionError("down")


def test_a_worker_killed_during_an_attempt_leaves_the_attempt_to_run_again(clock):
    crashing = Crashing()
    clock.jump(seconds=10)
    with pytest.raises(SystemExit):
        AutomationModel.run()  # the step's transaction is rolled back: attempt 2 is not counted
    pending = pending_retry(AutomationTaskModel.objects.get(automation_id=crashing.id))
    assert pending.attempt == 2
    AutomationModel.run()  # attempt 2 again (the third call), which fails: attempt 3 waits
    assert pending_retry(AutomationTaskModel.objects.get(automation_id=crashing.id)).attempt == 3
    assert len(CALLS["crashing"]) == 3


class Partner(flow.Automation):
    wait = flow.Execute().AsSoonAs(this.has_ping)
    end = flow.End()

    def has_ping(self, task):
        return "ping" in self.data

    def receive_ping(self, token, data):
        self.data["ping"] = token


class Pinging(flow.Automation):
    ping = flow.SendMessage(this.partner, "ping", token="hello").Retry(attempts=2, backoff=30)
    end = flow.End()

    def partner(self, task):
        CALLS.setdefault("partner", []).append(1)
        if len(CALLS["partner"]) == 1:
            raise ConnectionError("directory down")
        return self.data["partner"]


def test_a_message_is_sent_again_at_its_next_attempt(clock):
    partner = Partner()
    pinging = Pinging(partner=partner.id)
    assert pending_retry(AutomationTaskModel.objects.get(automation_id=pinging.id)).attempt == 2
    clock.advance(seconds=30)
    assert row(partner).data == {"ping": "hello"} and row(partner).finished
    assert (
        AutomationTaskModel.objects.get(automation_id=pinging.id, status="ping").message
        == "OK, attempt 2 of 2"
    )


def test_a_backoff_that_names_no_method_is_a_declaration_error():
    with pytest.raises(
        AutomationDeclarationError, match=r"\.Retry\(backoff=\) refers to unknown node or method 'pause'"
    ):

        class Misspelled(flow.Automation):
            call = flow.Execute(this.work).Retry(backoff=this.pause)
            end = flow.End()

            def work(self, task): ...


class Batched(flow.Automation):
    call = (
        flow.Execute(this.fail)
        .Retry(attempts=3, backoff=Fixed(timedelta(minutes=1)), on=ConnectionError)
        .Deadline(hours=1, then=this.gave_up)
    )
    end = flow.End()
    gave_up = flow.Execute().Next(this.end)

    def fail(self, task):
        CALLS.setdefault("batched", []).append(self.id)
        self.data["touched"] = True
        raise ConnectionError("down")


def test_attempts_due_together_run_in_one_wake_batch(clock, settings):
    import automations.worker.database as worker_database

    settings.ATM_WAKE_BATCH_SECONDS = 10
    ids = [Batched().id for _ in range(5)]  # more than a few: the batch writes their tasks in one statement
    clock.jump(minutes=1)
    results, left = worker_database.advance_due(ids)
    assert not left and sorted(results) == sorted(ids)
    for automation_id in ids:
        task = AutomationTaskModel.objects.get(automation_id=automation_id)
        assert pending_retry(task).attempt == 3 and pending_retry(task).at == clock.now + timedelta(minutes=1)
        assert task.deadline == clock.now + timedelta(minutes=59)
        assert AutomationModel.objects.get(pk=automation_id).data == {}
    assert len(CALLS["batched"]) == 10
