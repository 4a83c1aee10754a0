"""Due instances advanced together (``engine.advance_due``): one transaction, the same results as alone.

A batch locks and loads its rows with two queries and writes its steps' rows when it ends; a node
keeps its own savepoint. A step that raises makes the batch go one by one; a message or a save to
another instance of the batch makes the batch write what it holds and load that one afresh.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import automations.worker.database as worker_database
from automations import flow, lifecycle
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel
from automations.testing import frozen_clock
from tests.testapp.models import NodeEffect

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = timedelta(hours=1)


class Riser(flow.Automation):
    """Sleeps an hour, then notes who it is and how many sleeps had ended when it woke."""

    start = flow.Execute(this.begin)
    sleep = flow.Execute(this.wake).AfterWaitingFor(HOUR)
    end = flow.End()

    def begin(self, task):
        return "begun"

    def wake(self, task):
        self.data["woke"] = self.id
        return f"woke {self.id}"


class CountingRiser(Riser):
    """A ``Riser`` whose node asks the database how many sleeps of its kind had ended."""

    def wake(self, task):
        ended = AutomationTaskModel.objects.filter(
            automation__automation_class=self.get_automation_class_name(), status="sleep"
        ).exclude(finished=None)
        return ended.count()


class Messenger(Riser):
    """A ``Riser`` whose node, on waking, sends a message to every instance listed in its data."""

    def wake(self, task):
        NodeEffect.objects.create(automation_id=self.id, node=task.status)
        self.data["woke"] = self.id
        for other in self.data.get("tell", []):
            Messenger(automation_id=other).send_message("note", "from", self.id)
        return "woke"

    def receive_note(self, token, data):
        self.data.setdefault("notes", []).append(data)


class HalfWay(flow.Automation):
    """Sleeps an hour, writes an effect, then fails in its next node after writing another."""

    start = flow.Execute(this.begin)
    sleep = flow.Execute(this.effect).AfterWaitingFor(HOUR)
    fail = flow.Execute(this.effect_then_fail)
    end = flow.End()

    def begin(self, task):
        return "begun"

    def effect(self, task):
        NodeEffect.objects.create(automation_id=self.id, node=task.status)

    def effect_then_fail(self, task):
        NodeEffect.objects.create(automation_id=self.id, node=task.status)
        raise RuntimeError("half way")


def _asleep(cls, count, clock):
    ids = [cls().id for _ in range(count)]
    clock.jump(hours=2)  # all due now
    return ids


def _batch(ids):
    results, left = worker_database.advance_due(ids)
    assert not left
    return results


def test_a_batch_is_one_transaction_of_a_few_statements_besides_its_nodes(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    others = {}
    with frozen_clock() as clock:
        for count in (1, 3, 12, 40):
            ids = _asleep(Riser, count, clock)
            with CaptureQueriesContext(connection) as queries:
                results = _batch(ids)
            assert all(results[pk].finished for pk in ids)
            statements = [query["sql"] for query in queries.captured_queries]
            savepoints = [sql for sql in statements if sql.startswith(("SAVEPOINT", "RELEASE"))]
            transactions = [sql for sql in statements if sql.startswith(("BEGIN", "COMMIT"))]
            if connection.vendor == "sqlite":  # the driver's own BEGIN and COMMIT are not logged elsewhere
                assert len(transactions) == 2 and statements[-1] == "COMMIT"  # one for the batch
            assert len(savepoints) == 2 * count  # each code node's own, nothing else
            others[count] = len(statements) - len(savepoints) - len(transactions)
            for pk in ids:
                row = AutomationModel.objects.get(pk=pk)
                assert row.finished and row.wake_at is None and row.data["woke"] == pk
                assert row.status == "finished"
                sleep = AutomationTaskModel.objects.get(automation_id=pk, status="sleep")
                assert sleep.result == f"woke {pk}" and sleep.finished == clock.now
                end = AutomationTaskModel.objects.filter(automation_id=pk, status="end")
                assert end.exclude(finished=None).exists()
                assert not AutomationTaskModel.objects.filter(automation_id=pk, finished=None).exists()
    # lock, load the open tasks, the changed task rows, the new ones, check and write the instance rows
    assert others[12] == others[40] == 6
    assert others[1] == 6 and others[3] == 8  # up to three changed rows go one UPDATE each


def test_a_node_in_a_batch_sees_the_rows_as_they_were_when_the_batch_began(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        ids = _asleep(CountingRiser, 4, clock)
        _batch(ids)
        later = _asleep(CountingRiser, 1, clock)
        _batch(later)
    results = [AutomationTaskModel.objects.get(automation_id=pk, status="sleep").result for pk in ids]
    assert results == [0, 0, 0, 0]  # the batch's steps commit together
    assert AutomationTaskModel.objects.get(automation_id=later[0], status="sleep").result == 4


def test_a_message_to_another_instance_of_the_batch_is_not_overwritten(settings):
    """The first node tells an instance stepped before it and one stepped after it."""
    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        ids = _asleep(Messenger, 3, clock)
        first, middle, last = ids
        AutomationModel.objects.filter(pk=middle).update(data={"tell": [first, last]})
        results = _batch([first, middle, last])
    assert all(results[pk].finished for pk in ids)
    for pk in ids:
        row = AutomationModel.objects.get(pk=pk)
        assert row.finished and row.data["woke"] == pk
        assert list(NodeEffect.objects.filter(automation_id=pk).values_list("node", flat=True)) == ["sleep"]
    assert "notes" not in AutomationModel.objects.get(pk=first).data  # it had finished: nothing delivered
    assert AutomationModel.objects.get(pk=last).data["notes"] == [middle]
    assert AutomationTaskModel.objects.filter(automation_id__in=ids, status="sleep").count() == 3


def test_a_step_that_raises_in_a_batch_leaves_nothing_and_the_others_commit(settings, monkeypatch):
    from automations.engine import batches

    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        ids = _asleep(Riser, 3, clock)
        record_step, hold = lifecycle.record_step, batches.Batch.hold

        def failing(automation_id, **columns):
            if automation_id == ids[1]:
                raise ValueError("disk full")
            return record_step(automation_id, **columns)

        def failing_hold(batch, row):
            if row.pk == ids[1]:
                raise ValueError("disk full")
            return hold(batch, row)

        monkeypatch.setattr(lifecycle, "record_step", failing)
        monkeypatch.setattr(batches.Batch, "hold", failing_hold)
        results, left = worker_database.advance_due(ids)
    assert set(results) == {ids[0], ids[2]} and not left
    failed = AutomationModel.objects.get(pk=ids[1])
    assert not failed.finished and failed.wake_at is not None and "woke" not in failed.data
    assert AutomationTaskModel.objects.filter(automation_id=ids[1], status="sleep", finished=None).exists()
    assert not AutomationTaskModel.objects.filter(automation_id=ids[1], status="end").exists()
    assert all(AutomationModel.objects.get(pk=pk).finished for pk in (ids[0], ids[2]))
    for pk in (ids[0], ids[2]):  # advanced again one by one: each sleep task once
        assert AutomationTaskModel.objects.filter(automation_id=pk, status="sleep").count() == 1


def test_a_failing_node_in_a_batch_keeps_the_earlier_nodes_and_steps(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        ids = _asleep(HalfWay, 2, clock)
        results = _batch(ids)
    for pk in ids:
        assert "half way" in results[pk].error
        effects = list(NodeEffect.objects.filter(automation_id=pk).values_list("node", flat=True))
        assert effects == ["sleep"]  # the failing node's own effect is rolled back
        rows = AutomationTaskModel.objects.filter(automation_id=pk).order_by("pk")
        statuses = list(rows.values_list("status", flat=True))
        assert statuses == ["start", "sleep", "fail"]
        assert "RuntimeError" in AutomationTaskModel.objects.get(automation_id=pk, status="fail").message


class Punctual(flow.Automation):
    """Sleeps a moment, then notes when its node ran."""

    start = flow.Execute(this.begin)
    sleep = flow.Execute(this.note).AfterWaitingFor(timedelta(seconds=1))  # still ahead once 3 are made
    end = flow.End()

    def begin(self, task):
        return "begun"

    def note(self, task):
        from django.utils import timezone

        return timezone.now().isoformat()


def test_a_batch_read_ahead_of_its_wake_times_starts_each_step_at_its_own_time():
    from django.utils import timezone

    ids = [Punctual().id for _ in range(3)]
    wake_at = dict(AutomationModel.objects.filter(pk__in=ids).values_list("pk", "wake_at"))
    assert min(wake_at.values()) > timezone.now()  # not due yet when the batch reads them

    results, left = worker_database.advance_due(ids, due_at=wake_at)

    assert not left and all(not results[pk].skipped for pk in ids)
    ran = dict(AutomationTaskModel.objects.filter(automation_id__in=ids, status="sleep").values_list(
        "automation_id", "result"
    ))  # fmt: skip
    for pk in ids:
        assert timezone.datetime.fromisoformat(ran[pk]) >= wake_at[pk]
    assert set(AutomationModel.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"finished"}


def test_a_batch_read_ahead_leaves_an_instance_whose_wake_time_moved_later():
    from django.utils import timezone

    [pk] = [Punctual().id]
    wake_at = AutomationModel.objects.get(pk=pk).wake_at
    AutomationModel.objects.filter(pk=pk).update(wake_at=wake_at + HOUR)  # e.g. a message made it wait longer

    results, _ = worker_database.advance_due([pk], due_at={pk: wake_at})

    assert results[pk].skipped and results[pk].wake_at == wake_at + HOUR
    assert timezone.now() >= wake_at  # it waited for the moment, then found the instance not due
    assert (
        not AutomationTaskModel.objects.filter(automation_id=pk, status="sleep")
        .exclude(finished=None)
        .exists()
    )
