"""Due instances advanced together (``engine.Batch``): few statements, the same results as alone."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async as db
from channels.layers import get_channel_layer
from django.db import connection
from django.db.models.signals import post_init, pre_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import consumers.scheduler as scheduler_module
from automations import flow
from automations.engine import steps
from automations.engine.batches import TASK_FIELDS, task_values, update_rows
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel
from automations.testing import frozen_clock
from consumers.scheduler import Scheduler
from tests.testapp.automations import Napper
from tests.testapp.models import NodeEffect

pytestmark = pytest.mark.django_db(transaction=True)

HOUR = timedelta(hours=1)
TASK_COLUMNS = AutomationTaskModel._meta.concrete_fields


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
    results, left = scheduler_module._advance_due(ids)
    assert not left
    return results


def test_a_batch_writes_the_steps_of_all_its_instances_in_the_same_few_statements(monkeypatch):
    monkeypatch.setattr(scheduler_module, "WAKE_BATCH_SECONDS", 10)
    kinds = []
    with frozen_clock() as clock:
        for count in (3, 12):
            ids = _asleep(Riser, count, clock)
            with CaptureQueriesContext(connection) as queries:
                results = _batch(ids)
            assert all(results[pk].finished for pk in ids)
            # "12 times: UPDATE ..." is one executemany()
            statements = [query["sql"].split(" times: ")[-1] for query in queries.captured_queries]
            kinds.append(Counter(statement.split()[0] for statement in statements))
            for pk in ids:
                row = AutomationModel.objects.get(pk=pk)
                assert row.finished and row.wake_at is None and row.data["woke"] == pk
                sleep = AutomationTaskModel.objects.get(automation_id=pk, status="sleep")
                assert sleep.result == f"woke {pk}" and sleep.finished == clock.now
                end = AutomationTaskModel.objects.filter(automation_id=pk, status="end")
                assert end.exclude(finished=None).exists()
    assert kinds[0] == kinds[1]  # as many statements for 12 instances as for 3
    assert kinds[1]["INSERT"] == 1 and kinds[1]["UPDATE"] == 2 and kinds[1]["SELECT"] == 2
    assert not kinds[1]["SAVEPOINT"]  # no node sent a statement: no step needed its savepoint


def test_a_node_in_a_batch_sees_the_rows_the_earlier_steps_wrote(monkeypatch):
    monkeypatch.setattr(scheduler_module, "WAKE_BATCH_SECONDS", 10)
    with frozen_clock() as clock:
        ids = _asleep(CountingRiser, 4, clock)
        _batch(ids)
    results = [AutomationTaskModel.objects.get(automation_id=pk, status="sleep").result for pk in ids]
    assert results == [0, 1, 2, 3]


def test_a_step_that_fails_in_a_batch_leaves_nothing_and_the_others_commit(monkeypatch):
    monkeypatch.setattr(scheduler_module, "WAKE_BATCH_SECONDS", 10)
    with frozen_clock() as clock:
        ids = _asleep(Riser, 3, clock)
        fields = steps._instance_fields

        def failing(instance, result, now):
            if instance.id == ids[1]:
                raise ValueError("disk full")
            return fields(instance, result, now)

        monkeypatch.setattr(steps, "_instance_fields", failing)
        results, left = scheduler_module._advance_due(ids)
    assert set(results) == {ids[0], ids[2]} and not left
    failed = AutomationModel.objects.get(pk=ids[1])
    assert not failed.finished and failed.wake_at is not None and "woke" not in failed.data
    assert AutomationTaskModel.objects.filter(automation_id=ids[1], status="sleep", finished=None).exists()
    assert not AutomationTaskModel.objects.filter(automation_id=ids[1], status="end").exists()
    assert all(AutomationModel.objects.get(pk=pk).finished for pk in (ids[0], ids[2]))


def test_a_failing_node_in_a_batch_keeps_the_earlier_nodes_and_steps(monkeypatch):
    monkeypatch.setattr(scheduler_module, "WAKE_BATCH_SECONDS", 10)
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


def test_a_batch_builds_its_automation_objects_ahead_while_time_remains():
    from django.db import transaction

    from automations import engine

    with frozen_clock() as clock:
        ids = _asleep(Riser, 3, clock)
        with transaction.atomic():
            batch = engine.Batch(ids, skip_locked=True)
            engine.prepare(batch, ids, until=clock.now)  # no time left: nothing built
            assert batch.prepared == {}
            engine.prepare(batch, ids, until=clock.now + HOUR)
            prepared = dict(batch.prepared)
            assert set(prepared) == set(ids) and all(isinstance(obj, Riser) for obj in prepared.values())
            with batch.watching():
                for pk in ids:
                    assert engine.advance(pk, skip_locked=True, due_only=True, batch=batch).finished
                batch.flush()
            assert batch.prepared == {}  # each step took its own
            assert all(prepared[pk].data["woke"] == pk for pk in ids)
    assert all(AutomationModel.objects.get(pk=pk).data["woke"] == pk for pk in ids)


@pytest.mark.parametrize(
    "values",
    [
        [None, {"a": [1, 2]}, "text", 5, [1, "two"]],
        [{"same": True}, {"same": True}, {"same": True}],
        ["only one"],
    ],
)
def test_update_rows_writes_what_one_update_per_row_writes(values):
    automation = Riser()
    moments = [timezone.now() + timedelta(minutes=index) for index in range(len(values))]
    tasks = [AutomationTaskModel.objects.create(automation_id=automation.id, status="x") for _ in values]
    rows = [(task.pk, {"result": value, "finished": moment, "message": "OK"})
            for task, value, moment in zip(tasks, values, moments, strict=True)]  # fmt: skip
    assert update_rows(AutomationTaskModel, rows) == len(values)
    written = AutomationTaskModel.objects.filter(pk__in=[task.pk for task in tasks])
    written = {task.pk: task for task in written}
    for task, value, moment in zip(tasks, values, moments, strict=True):
        assert written[task.pk].result == value and written[task.pk].finished == moment
        assert written[task.pk].message == "OK"
    if None in values:
        assert AutomationTaskModel.objects.filter(pk=tasks[0].pk, result__isnull=True).exists()  # SQL NULL


def test_update_rows_writes_null_columns_beside_values():
    automation = Riser()
    tasks = [AutomationTaskModel.objects.create(automation_id=automation.id, status="x") for _ in range(4)]
    moment = timezone.now()
    finished = [moment, None, moment + timedelta(minutes=1), None]
    rows = [(task.pk, {"finished": when, "message": f"m{index}", "result": None if when else [index]})
            for index, (task, when) in enumerate(zip(tasks, finished, strict=True))]  # fmt: skip
    assert update_rows(AutomationTaskModel, rows) == 4
    written = AutomationTaskModel.objects.filter(pk__in=[task.pk for task in tasks])
    written = {task.pk: task for task in written}
    for index, (task, when) in enumerate(zip(tasks, finished, strict=True)):
        assert written[task.pk].finished == when and written[task.pk].message == f"m{index}"
        assert written[task.pk].result == (None if when else [index])


def test_update_rows_counts_only_the_rows_still_there():
    automation = Riser()
    tasks = [AutomationTaskModel.objects.create(automation_id=automation.id, status="x") for _ in range(3)]
    rows = [(task.pk, {"message": f"m{index}"}) for index, task in enumerate(tasks)]
    tasks[1].delete()
    assert update_rows(AutomationTaskModel, rows) == 2


def test_timers_due_together_load_their_rows_ahead_and_never_run_early(monkeypatch):
    monkeypatch.setattr(scheduler_module, "LOAD_AHEAD_PER_ROW", 0.05)
    monkeypatch.setattr(scheduler_module, "LOAD_AHEAD_MAX", 0.2)
    called = []
    advance_due = scheduler_module._advance_due

    def noted(automation_ids, wake_times=None, **options):
        called.append((timezone.now(), list(automation_ids)))
        return advance_due(automation_ids, wake_times, **options)

    monkeypatch.setattr(scheduler_module, "_advance_due", noted)

    async def scenario():
        nappers = [await db(Napper)(seconds=3600) for _ in range(5)]
        ids = [napper.id for napper in nappers]
        worker = Scheduler(channel_layer=get_channel_layer(), sweep_interval=3600)
        running = asyncio.ensure_future(worker.arun())
        await worker.ready.wait()  # its first sweep done: the moment below is not spent starting
        moment = timezone.now() + timedelta(seconds=0.5)

        def due_at_once():
            AutomationModel.objects.filter(pk__in=ids).update(wake_at=moment)
            tasks = AutomationTaskModel.objects.filter(automation_id__in=ids)
            tasks.update(created=moment - timedelta(hours=1))

        await db(due_at_once)()
        for pk in ids:
            worker.schedule(pk, moment)  # what the engine's wake-up hint does

        def data():
            return list(AutomationModel.objects.filter(pk__in=ids).values_list("data", flat=True))

        try:
            for _ in range(300):
                rows = await db(data)()
                if all("woke_at" in data for data in rows):
                    break
                await asyncio.sleep(0.01)
        finally:
            worker.stop()
            await running
        return ids, moment, rows

    ids, moment, rows = asyncio.run(scenario())
    woken = [timezone.datetime.fromisoformat(data["woke_at"]) for data in rows]
    assert all(when >= moment for when in woken)  # loaded ahead, run at their time
    first_call, batch = next((at, batch) for at, batch in called if set(ids) <= set(batch))
    assert first_call < moment - timedelta(seconds=0.1)  # the rows were loaded before the moment


def test_the_load_ahead_follows_a_slower_loading_at_once_and_a_faster_one_slowly():
    worker = Scheduler(channel_layer=get_channel_layer())
    start = worker._load_per_row
    worker._measured_loading(0.0, 200 * start * 3, 200)  # three times slower than thought
    assert worker._load_per_row == pytest.approx(3 * start)
    worker._measured_loading(0.0, 0.0, 200)  # instantly: a fifth of the way down
    assert worker._load_per_row == pytest.approx(0.8 * 3 * start)
    worker._measured_loading(0.0, None, 200)  # not loaded (the batch failed): nothing learnt
    worker._measured_loading(0.0, 1.0, 1)  # one instance is never fired ahead
    assert worker._load_per_row == pytest.approx(0.8 * 3 * start)


def test_a_scheduler_with_a_clock_of_its_own_never_fires_early():
    with frozen_clock() as clock:
        worker = Scheduler(channel_layer=get_channel_layer(), now=clock, call_later=clock.call_later)
        assert not worker._loads_ahead()


def test_new_task_builds_what_the_model_constructor_builds_and_sends_its_signals():
    automation = AutomationModel.objects.create(automation_class="tests.Riser")
    moment = timezone.now()
    heard = []

    def on_pre_init(sender, args, kwargs, **extra):
        heard.append(("pre_init", sender, list(args), kwargs))

    def on_post_init(sender, instance, **extra):
        heard.append(("post_init", sender, instance._state.adding, instance.status))

    pre_init.connect(on_pre_init, sender=AutomationTaskModel)
    post_init.connect(on_post_init, sender=AutomationTaskModel)
    try:
        built = steps.new_task(automation, "start", moment, "start")
        expected = AutomationTaskModel(automation=automation, status="start", created=moment, path="start")
    finally:
        pre_init.disconnect(on_pre_init, sender=AutomationTaskModel)
        post_init.disconnect(on_post_init, sender=AutomationTaskModel)

    def fields(task):
        return {column.attname: getattr(task, column.attname) for column in TASK_COLUMNS}

    assert fields(built) == fields(expected)
    assert built.automation is automation and built._state.adding and built._state.db is None
    assert heard[0][:2] == ("pre_init", AutomationTaskModel) and heard[1] == (
        "post_init", AutomationTaskModel, True, "start"
    )  # fmt: skip
    assert len(heard[0][2]) == len(TASK_COLUMNS)
    # a fresh default is made for each row, never shared between two
    other = steps.new_task(automation, "start", moment, "start")
    assert other.interaction_permissions == built.interaction_permissions
    assert other.interaction_permissions is not built.interaction_permissions
    built.save()
    assert AutomationTaskModel.objects.get(pk=built.pk).status == "start"


def test_task_values_are_what_each_column_writes_on_save():
    task = AutomationTaskModel.objects.create(
        automation=AutomationModel.objects.create(automation_class="tests.Riser"), status="x", result=[1]
    )
    task.finished = timezone.now()
    expected = {column.attname: column.pre_save(task, False) for column in TASK_FIELDS}  # all but the pk
    assert task_values(task) == expected
