"""Due instances advanced together (``engine.advance_due``): one transaction, the same results as alone.

Each step of a batch is a savepoint of the batch's transaction: a step that fails is rolled back
alone, and a node sees what the earlier steps of the batch wrote.
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


def test_a_batch_is_one_transaction_whose_steps_send_what_they_send_alone(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    per_instance = []
    with frozen_clock() as clock:
        for count in (1, 3, 12):
            ids = _asleep(Riser, count, clock)
            with CaptureQueriesContext(connection) as queries:
                results = _batch(ids)
            assert all(results[pk].finished for pk in ids)
            statements = [query["sql"] for query in queries.captured_queries]
            savepoints = [sql for sql in statements if sql.startswith(("SAVEPOINT", "RELEASE"))]
            transactions = [sql for sql in statements if sql.startswith(("BEGIN", "COMMIT"))]
            if connection.vendor == "sqlite":  # the driver's own BEGIN and COMMIT are not logged elsewhere
                assert len(transactions) == 2 and statements[-1] == "COMMIT"  # one for the batch
            per_instance.append((len(statements) - len(transactions)) / count)
            assert len(savepoints) == 4 * count  # each step's atomic() and its code node's
            for pk in ids:
                row = AutomationModel.objects.get(pk=pk)
                assert row.finished and row.wake_at is None and row.data["woke"] == pk
                sleep = AutomationTaskModel.objects.get(automation_id=pk, status="sleep")
                assert sleep.result == f"woke {pk}" and sleep.finished == clock.now
                end = AutomationTaskModel.objects.filter(automation_id=pk, status="end")
                assert end.exclude(finished=None).exists()
    assert per_instance[0] == per_instance[1] == per_instance[2]  # the steps of a batch are steps alone


def test_a_node_in_a_batch_sees_the_rows_the_earlier_steps_wrote(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        ids = _asleep(CountingRiser, 4, clock)
        _batch(ids)
    results = [AutomationTaskModel.objects.get(automation_id=pk, status="sleep").result for pk in ids]
    assert results == [0, 1, 2, 3]


def test_a_step_that_fails_in_a_batch_leaves_nothing_and_the_others_commit(settings, monkeypatch):
    settings.ATM_WAKE_BATCH_SECONDS = 10
    with frozen_clock() as clock:
        ids = _asleep(Riser, 3, clock)
        record_step = lifecycle.record_step

        def failing(automation_id, **columns):
            if automation_id == ids[1]:
                raise ValueError("disk full")
            return record_step(automation_id, **columns)

        monkeypatch.setattr(lifecycle, "record_step", failing)
        results, left = worker_database.advance_due(ids)
    assert set(results) == {ids[0], ids[2]} and not left
    failed = AutomationModel.objects.get(pk=ids[1])
    assert not failed.finished and failed.wake_at is not None and "woke" not in failed.data
    assert AutomationTaskModel.objects.filter(automation_id=ids[1], status="sleep", finished=None).exists()
    assert not AutomationTaskModel.objects.filter(automation_id=ids[1], status="end").exists()
    assert all(AutomationModel.objects.get(pk=pk).finished for pk in (ids[0], ids[2]))


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
