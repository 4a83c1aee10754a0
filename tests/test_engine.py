"""The engine: failures as data, fault isolation, persistence, query costs, yielding."""

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from automations import engine, flow, lifecycle
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel
from tests.helpers import open_statuses, row, statuses, tasks
from tests.testapp.models import NodeEffect

pytestmark = pytest.mark.django_db

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def sweep():
    return AutomationModel.run()


def make_due(*automations):
    AutomationModel.objects.filter(pk__in=[a.id for a in automations]).update(wake_at=LONG_AGO)


class Divider(flow.Automation):
    prepare = flow.Execute(this.get_ready)
    divide = flow.Execute(this.compute)
    after = flow.Execute(this.get_ready)
    end = flow.End()

    def get_ready(self, task):
        self.data.setdefault("prepared", []).append(task.status)

    def compute(self, task):
        password = self.data["password"]  # a local variable whose value must not be recorded
        return len(password) / self.data["divisor"]


def test_a_failure_is_stored_on_its_task_and_stops_the_instance():
    automation = Divider(divisor=0, password="s3cret-value")
    failed = AutomationTaskModel.objects.get(automation_id=automation.id, status="divide")
    assert failed.message == "ZeroDivisionError('division by zero')"
    assert failed.finished is not None
    assert failed.result["exception"] == "builtins.ZeroDivisionError"
    assert failed.result["error"] == failed.result["traceback"]
    assert "Traceback (most recent call last)" in failed.result["traceback"]
    assert "ZeroDivisionError: division by zero" in failed.result["traceback"]
    assert "s3cret-value" not in json.dumps(failed.result)
    stopped = row(automation)
    assert stopped.error == "Divider.divide: ZeroDivisionError('division by zero')"
    assert stopped.wake_at is None and not stopped.finished
    assert statuses(automation) == ["prepare", "divide"]
    assert stopped.data["prepared"] == ["prepare"]


def test_run_returns_the_failing_node_and_a_stopped_instance_stays_stopped():
    automation = Divider(divisor=0, password="x", autorun=False)
    assert automation.run() is automation.divide
    assert automation.run() is None
    assert statuses(automation) == ["prepare", "divide"]
    assert not automation.finished()


def test_an_uncaught_error_stops_only_that_instance_in_a_sweep():
    good, bad, also_good = (Divider(divisor=d, password="pw", autorun=False) for d in (1, 0, 2))
    make_due(good, bad, also_good)
    counts = sweep()
    assert counts == {"advanced": 3, "finished": 2, "errors": 1, "skipped": 0, "postponed": 0}
    assert good.finished() and also_good.finished()
    assert row(bad).error and not bad.finished()


def test_an_unknown_stored_class_marks_the_instance_and_the_sweep_goes_on():
    lost = AutomationModel.objects.create(automation_class="shop.automations.Removed", wake_at=LONG_AGO)
    hidden = AutomationModel.objects.create(
        automation_class="tests.testapp.not_discovered.Hidden", wake_at=LONG_AGO
    )
    fine = Divider(divisor=1, password="pw", autorun=False)
    make_due(fine)
    counts = sweep()
    assert counts["errors"] == 2 and fine.finished()
    lost.refresh_from_db()
    assert lost.error == (
        "'shop.automations.Removed' is not a registered automation class. Is its module an 'automations' "
        "module of an installed app, or imported at start-up?"
    )
    assert lost.wake_at is None
    hidden.refresh_from_db()
    assert "is not a registered automation class" in hidden.error
    assert "tests.testapp.not_discovered" not in sys.modules  # never imported blindly
    assert sweep()["advanced"] == 0


def test_an_unknown_stored_node_holds_the_instance_and_the_sweep_goes_on():
    waiting = Divider(divisor=1, password="pw", autorun=False)
    waiting.run()
    other = Divider(divisor=1, password="pw", autorun=False)
    AutomationTaskModel.objects.create(automation_id=waiting.id, status="renamed_node")
    AutomationModel.objects.filter(pk=waiting.id).update(finished=False, wake_at=LONG_AGO, status="running")
    make_due(other)
    counts = sweep()
    assert counts["errors"] == 0 and other.finished()
    assert row(waiting).status == "needs_migration" and row(waiting).error == ""  # held, not failed
    assert row(waiting).wake_at is None


def test_an_engine_failure_outside_nodes_stops_that_instance_only(monkeypatch):
    broken, fine = (
        Divider(divisor=1, password="pw", autorun=False),
        Divider(divisor=1, password="pw", autorun=False),
    )
    make_due(broken, fine)
    original = lifecycle.record_step

    def failing_save(automation_id, **columns):
        if automation_id == broken.id:
            raise ValueError("disk full")
        original(automation_id, **columns)

    monkeypatch.setattr(lifecycle, "record_step", failing_save)
    counts = sweep()
    assert counts["errors"] == 1 and fine.finished()
    assert row(broken).error == "The engine could not advance this instance: ValueError('disk full')"
    assert statuses(broken) == []  # its step was rolled back as a whole
    assert sweep()["advanced"] == 0  # and it is not retried on every sweep


def test_operational_errors_are_retried_by_the_next_sweep(monkeypatch):
    automation = Divider(divisor=1, password="pw", autorun=False)
    make_due(automation)
    original = lifecycle.record_step
    calls = []

    def locked_once(automation_id, **columns):
        calls.append(automation_id)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        original(automation_id, **columns)

    monkeypatch.setattr(lifecycle, "record_step", locked_once)
    assert sweep()["errors"] == 1
    assert row(automation).error == "" and row(automation).wake_at is not None
    sweep()
    assert automation.finished()


class Results(flow.Automation):
    nan = flow.Execute(lambda task: float("nan"))
    a_set = flow.Execute(lambda task: {1, 2})
    a_date = flow.Execute(lambda task: datetime(2030, 1, 1))
    nul = flow.Execute(lambda task: "a\x00b")
    fine = flow.Execute(lambda task: {"n": [1, 2.5, None, True]})
    end = flow.End()


def test_results_that_are_not_json_are_stored_as_their_repr():
    automation = Results()
    assert automation.finished()
    assert [t.result for t in tasks(automation)] == [
        "nan",
        "{1, 2}",
        "datetime.datetime(2030, 1, 1, 0, 0)",
        "'a\\x00b'",
        {"n": [1, 2.5, None, True]},
        None,
    ]
    assert [t.message for t in tasks(automation)] == ["OK"] * 6


def test_data_that_is_not_json_stops_the_instance_and_keeps_the_stored_data():
    class Careless(flow.Automation):
        start = flow.Execute(this.store_a_date)
        end = flow.End()

        def store_a_date(self, task):
            self.data["when"] = datetime(2030, 1, 1)

    careless = Careless(keep="me")
    stopped = row(careless)
    assert stopped.error.startswith("The instance's data is not JSON serializable: TypeError(")
    assert stopped.data == {"keep": "me"}
    assert not stopped.finished and stopped.wake_at is None


def test_a_failing_node_leaves_no_database_effects_and_no_data_changes():
    class HalfDone(flow.Automation):
        write = flow.Execute(this.write_then_fail).OnError(this.check)
        check = flow.Execute(this.count_effects)
        end = flow.End()

        def write_then_fail(self, task):
            NodeEffect.objects.create(automation_id=self.id, node="write")
            self.data["written"] = True
            self.save()
            raise RuntimeError("after the write")

        def count_effects(self, task):
            self.data["effects"] = NodeEffect.objects.count()

    automation = HalfDone(start="kept")
    assert NodeEffect.objects.count() == 0
    assert row(automation).data == {"start": "kept", "effects": 0}
    assert [t.message for t in tasks(automation)] == ["RuntimeError('after the write')", "OK", "OK"]


def test_conditions_that_fail_are_failures_of_their_node():
    class BadCondition(flow.Automation):
        wait = flow.Execute(this.noop).AsSoonAs(this.broken)

        def noop(self, task):
            return None

        def broken(self, task):
            NodeEffect.objects.create(automation_id=self.id, node="condition")
            return self.data["missing"]

    automation = BadCondition()
    assert row(automation).error == "BadCondition.wait: KeyError('missing')"
    assert NodeEffect.objects.count() == 0


def test_an_endless_loop_yields_after_the_step_node_limit(clock):
    class Endless(flow.Automation):
        count = flow.Execute(this.increment)
        loop = flow.If(True).Then(this.count)

        def increment(self, task):
            self.data["n"] = self.data.get("n", 0) + 1

    with override_settings(ATM_STEP_NODE_LIMIT=7):
        automation = Endless()
        assert row(automation).data["n"] == 4  # count, loop, count, loop, count, loop, count
        assert row(automation).wake_at == clock.now and not row(automation).error
        assert open_statuses(automation) == ["loop"]
        sweep()
        assert row(automation).data["n"] == 7  # loop, count, loop, count, loop, count, loop ... 7 visits
        assert not automation.finished()


CONDITION_CHECKS = []


class Blocked(flow.Automation):
    wait = flow.Execute(this.noop).AsSoonAs(this.ready)

    def noop(self, task):
        return None

    def ready(self, task):
        CONDITION_CHECKS.append(self.id)
        return self.data.get("release", False)


@pytest.fixture(autouse=True)
def forget_condition_checks():
    CONDITION_CHECKS.clear()


def checks_of(*automations):
    return [CONDITION_CHECKS.count(automation.id) for automation in automations]


@override_settings(ATM_CONDITION_RECHECK_INTERVAL=60)
def test_blocked_instances_cost_nothing_until_their_recheck_is_due(clock):
    blocked = [Blocked() for _ in range(20)]
    clock.jump(seconds=59)
    with CaptureQueriesContext(connection) as queries:
        counts = sweep()
    assert counts["advanced"] == 0
    assert len(queries) == 1  # the one query for due instances
    assert checks_of(*blocked) == [1] * 20
    clock.jump(seconds=1)
    with CaptureQueriesContext(connection) as queries:
        counts = sweep()
    assert (counts["advanced"], counts["postponed"]) == (0, 20)
    # due ids, locked rows, open tasks, one UPDATE for the shared new wake time, the next (empty) batch
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"] and q["sql"] != "BEGIN"]
    assert len(statements) == 5
    assert checks_of(*blocked) == [2] * 20
    assert {row(b).wake_at for b in blocked} == {clock.now + timedelta(seconds=60)}


def test_a_blocked_instance_whose_condition_came_true_runs_a_full_step(clock):
    waiting, released = Blocked(), Blocked()
    AutomationModel.objects.filter(pk=released.id).update(data={"release": True})
    clock.jump(seconds=60)
    counts = sweep()
    assert (counts["advanced"], counts["postponed"]) == (1, 1)
    assert released.finished() and not waiting.finished()


def test_a_sweep_with_nothing_due_is_one_query(clock):
    for _ in range(10):
        Divider(divisor=1, password="pw")  # finished
        Blocked()
    with CaptureQueriesContext(connection) as queries:
        sweep()
    assert len(queries) == 1


def test_queries_per_execute_node():
    class TenSteps(flow.Automation):
        n1, n2, n3, n4, n5 = (flow.Execute(this.work) for _ in range(5))
        n6, n7, n8, n9, n10 = (flow.Execute(this.work) for _ in range(5))
        end = flow.End()

        def work(self, task):
            self.data["n"] = self.data.get("n", 0) + 1

    automation = TenSteps(autorun=False)
    with CaptureQueriesContext(connection) as queries:
        automation.run()
    kinds = [q["sql"].split()[0] for q in queries]
    # Inside the test's transaction the step is a savepoint (a real atomic()); each Execute node's
    # code runs in one of its own. The task rows of all visits (one INSERT) and the instance (one
    # UPDATE) go out when the step ends.
    assert kinds[0] == "SAVEPOINT" and kinds[-1] == "RELEASE"
    step = kinds[1:-1]
    assert step[:2] == ["SELECT", "SELECT"] and step[-2:] == ["INSERT", "UPDATE"]
    assert step[2:-2] == ["SAVEPOINT", "RELEASE"] * 10
    assert automation.finished() and row(automation).data == {"n": 10}
    assert statuses(automation) == [f"n{i}" for i in range(1, 11)] + ["end"]


def test_queries_per_execute_node_that_writes():
    class TenWrites(flow.Automation):
        n1, n2, n3, n4, n5 = (flow.Execute(this.work) for _ in range(5))
        n6, n7, n8, n9, n10 = (flow.Execute(this.work) for _ in range(5))
        end = flow.End()

        def work(self, task):
            NodeEffect.objects.filter(automation_id=self.id).update(worker=len(self.data))
            self.data[task.status] = 1

    automation = TenWrites(autorun=False)
    with CaptureQueriesContext(connection) as queries:
        automation.run()
    kinds = [q["sql"].split()[0] for q in queries]
    # Per node: its savepoint, its own statement, the release.
    assert kinds[0] == "SAVEPOINT" and kinds[-1] == "RELEASE"  # the step's own, inside the test's transaction
    step = kinds[1:-1]
    assert step[:2] == ["SELECT", "SELECT"] and step[-2:] == ["INSERT", "UPDATE"]
    assert step[2:-2] == ["SAVEPOINT", "UPDATE", "RELEASE"] * 10
    assert automation.finished() and len(row(automation).data) == 10


def test_saving_the_data_inside_its_own_step_is_the_steps_one_update():
    class TenSaves(flow.Automation):
        n1, n2, n3, n4, n5 = (flow.Execute(this.work) for _ in range(5))
        n6, n7, n8, n9, n10 = (flow.Execute(this.work) for _ in range(5))
        end = flow.End()

        def work(self, task):
            self.data[task.status] = 1
            self.save()

    automation = TenSaves(autorun=False)
    with CaptureQueriesContext(connection) as queries:
        automation.run()
    step = [q["sql"].split()[0] for q in queries][1:-1]
    assert step == ["SELECT", "SELECT"] + ["SAVEPOINT", "RELEASE"] * 10 + ["INSERT", "UPDATE"]
    assert automation.finished() and len(row(automation).data) == 10


def test_a_failing_node_undoes_its_saved_data_and_keeps_what_earlier_nodes_saved():
    class SavesThenFails(flow.Automation):
        first = flow.Execute(this.keep)
        second = flow.Execute(this.lose).OnError(this.end)
        end = flow.End()

        def keep(self, task):
            self.data["kept"] = True
            self.save()

        def lose(self, task):
            self.data["lost"] = True
            self.save()
            raise ValueError("no")

    automation = SavesThenFails()
    assert row(automation).data == {"kept": True}
    assert statuses(automation) == ["first", "second", "end"]


def test_a_node_whose_database_error_is_rolled_back_to_its_savepoint_keeps_the_step_going():
    """A failing statement (which spoils a PostgreSQL transaction) is undone with its node only."""

    class Duplicates(flow.Automation):
        first = flow.Execute(this.write)
        second = flow.Execute(this.write_a_duplicate).OnError(this.third)
        third = flow.Execute(this.write)
        end = flow.End()

        def write(self, task):
            NodeEffect.objects.create(automation_id=self.id, node=task.status)

        def write_a_duplicate(self, task):
            NodeEffect.objects.create(automation_id=self.id, node=task.status)
            AutomationModel.objects.create(automation_class="copy", key=self.get_key())  # key is unique

    automation = Duplicates()
    assert automation.finished()
    effects = list(NodeEffect.objects.filter(automation_id=automation.id).values_list("node", flat=True))
    assert effects == ["first", "third"]
    failed = AutomationTaskModel.objects.get(automation_id=automation.id, status="second")
    assert "IntegrityError" in failed.message


class ReadsItsTasks(flow.Automation):
    first = flow.Execute(this.note)
    second = flow.Execute(this.note)
    third = flow.Execute(this.look).OnError(this.after)
    after = flow.Execute(this.note)
    end = flow.End()

    def note(self, task):
        self.data.setdefault("seen", []).append(self.history())

    def look(self, task):
        self.data.setdefault("seen", []).append(self.history())
        NodeEffect.objects.create(automation_id=self.id, node="look")
        if self.data.get("fail"):
            raise ValueError("fail")

    def history(self):
        rows = AutomationTaskModel.objects.filter(automation_id=self.id).order_by("pk")
        return [task.status for task in rows]


@pytest.mark.parametrize("fail", [False, True])
def test_node_code_sees_the_task_rows_of_earlier_steps_and_the_step_writes_its_own_in_order(
    fail, django_capture_on_commit_callbacks
):
    """The rows of a step's visits go out together when it ends; a node's code sees earlier steps'."""
    automation = ReadsItsTasks(fail=fail)
    data = row(automation).data
    # All in the instance's first step: nothing written yet, unless a failure was reported (the
    # receivers of task_failed see the rows of the visits up to the failed one).
    seen = [[], [], ["first", "second", "third"]] if fail else [[], [], [], []]
    assert data["seen"] == seen
    assert statuses(automation) == ["first", "second", "third", "after", "end"]
    ids = list(AutomationTaskModel.objects.filter(automation_id=automation.id).values_list("pk", flat=True))
    assert ids == sorted(ids)
    assert NodeEffect.objects.filter(node="look").count() == (0 if fail else 1)
    failed = AutomationTaskModel.objects.get(automation_id=automation.id, status="third")
    assert failed.message == ("ValueError('fail')" if fail else "OK")


def test_a_failing_node_loses_its_on_commit_callbacks_and_a_rollback_it_asked_for(
    django_capture_on_commit_callbacks,
):
    from django.db import transaction

    called = []

    class Callbacks(flow.Automation):
        quiet = flow.Execute(this.register_and_fail).OnError(this.writes)
        writes = flow.Execute(this.write_and_fail).OnError(this.rolls_back)
        rolls_back = flow.Execute(this.write_and_roll_back)
        kept = flow.Execute(this.register)
        end = flow.End()

        def register_and_fail(self, task):
            transaction.on_commit(lambda: called.append("quiet"))
            raise ValueError("no statement sent")

        def write_and_fail(self, task):
            NodeEffect.objects.create(automation_id=self.id, node="writes")
            transaction.on_commit(lambda: called.append("writes"))
            raise ValueError("after a statement")

        def write_and_roll_back(self, task):
            NodeEffect.objects.create(automation_id=self.id, node="rolls_back")
            transaction.on_commit(lambda: called.append("rolls_back"))
            transaction.set_rollback(True)

        def register(self, task):
            NodeEffect.objects.create(automation_id=self.id, node="kept")
            transaction.on_commit(lambda: called.append("kept"))

    with django_capture_on_commit_callbacks(execute=True):
        automation = Callbacks()
    assert automation.finished() and called == ["kept"]
    assert list(NodeEffect.objects.values_list("node", flat=True)) == ["kept"]
    assert statuses(automation) == ["quiet", "writes", "rolls_back", "kept", "end"]


def test_a_stopped_instance_that_is_due_is_cleared_without_running(clock):
    automation = Divider(divisor=1, password="pw")
    AutomationModel.objects.filter(pk=automation.id).update(wake_at=clock.now)
    result = engine.advance(automation.id)
    assert result.already_finished and row(automation).wake_at is None


def test_advance_accepts_an_id_a_row_or_an_automation():
    automation = Divider(divisor=1, password="pw", autorun=False)
    by_id = engine.advance(automation.id)
    assert by_id.finished and by_id.visits == 4
    assert engine.advance(AutomationModel.objects.get(pk=automation.id)).already_finished
    assert engine.advance(automation).already_finished


def test_advance_due_only_skips_instances_that_are_not_due(clock):
    automation = Blocked()
    result = engine.advance(automation.id, due_only=True)
    assert result.skipped and result.wake_at == clock.now + timedelta(minutes=1)
    assert checks_of(automation) == [1]


def test_sweep_limit():
    instances = [Divider(divisor=1, password="pw", autorun=False) for _ in range(3)]
    make_due(*instances)
    assert engine.sweep(limit=2)["advanced"] == 2
    assert engine.sweep()["advanced"] == 1


def test_sweep_reads_due_instances_in_batches():
    instances = [Divider(divisor=1, password="pw", autorun=False) for _ in range(5)]
    make_due(*instances)
    counts = engine.sweep(batch_size=2)
    assert counts == {"advanced": 5, "finished": 5, "errors": 0, "skipped": 0, "postponed": 0}


def test_a_step_inside_a_transaction_that_raises_is_rolled_back_alone(
    monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import transaction

    called = []
    automation = Divider(divisor=1, password="pw", autorun=False)

    def fail(automation_id, **columns):
        transaction.on_commit(lambda: called.append("step"))
        raise RuntimeError("the step failed")

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            NodeEffect.objects.create(automation_id=automation.id, node="before")
            with monkeypatch.context() as patched:
                patched.setattr(lifecycle, "record_step", fail)
                with pytest.raises(RuntimeError):
                    engine.advance(automation.id)
            transaction.on_commit(lambda: called.append("outer"))
    assert called == ["outer"] and statuses(automation) == []
    assert list(NodeEffect.objects.values_list("node", flat=True)) == ["before"]
    assert engine.advance(automation.id).finished
