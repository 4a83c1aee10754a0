"""Old finished instances deleted in batches: ``delete_history``, its command, and the worker's retention."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.core import checks
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models.signals import pre_delete
from django.test.utils import CaptureQueriesContext

from automations import flow, history
from automations.checks import check_limit_settings
from automations.flow import this
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel, Status
from automations.worker import Scheduler
from tests.helpers import row

pytestmark = pytest.mark.django_db
db = database_sync_to_async
worker_test = pytest.mark.django_db(transaction=True)  # the worker's database thread: a connection of its own

INSTANCES = "automations.AutomationModel"
TASKS = "automations.AutomationTaskModel"
AUDIT = "automations.AuditEntry"


class Short(flow.Automation):
    work = flow.Execute(this.do_work).AfterWaitingFor(timedelta(minutes=5))
    end = flow.End()

    def do_work(self, task):
        if self.data.get("fail"):
            raise RuntimeError("failed")


def finished(clock, count=1):
    """Start ``count`` instances and run them to their end; return their ids."""
    ids = [Short().id for _ in range(count)]
    clock.jump(minutes=5)
    AutomationModel.run()
    assert all(row(pk).status == Status.FINISHED for pk in ids)
    return ids


def remaining():
    return set(AutomationModel.objects.values_list("pk", flat=True))


async def worker_deletes():
    """Let a scheduler worker (not started: only its retention) delete old history once; return its
    counts and the worker."""
    worker = Scheduler(channel_layer=get_channel_layer(), sweep_interval=3600)
    return await worker.delete_history(), worker


@pytest.fixture
def stopped_long_ago(clock):
    """Instances of every kind, 40 days after they stopped (or started), and one finished recently."""
    kinds = {"finished": finished(clock)[0]}
    kinds["audited"] = finished(clock)[0]
    AuditEntry.objects.create(automation_id=kinds["audited"], action=AuditEntry.WAKE, username="ann")
    failed = Short(fail=True)
    clock.jump(minutes=5)
    AutomationModel.run()
    kinds["failed"] = failed.id
    kinds["cancelled"] = Short().id
    AutomationModel.objects.filter(pk=kinds["cancelled"]).update(status=Status.CANCELLED, wake_at=None)
    kinds["waiting"] = Short().id
    waiting = AutomationModel.objects.filter(pk=kinds["waiting"])
    waiting.update(wake_at=None, status=Status.WAITING_FOR_MESSAGE)
    clock.jump(days=40)
    kinds["recent"] = finished(clock)[0]
    return kinds


# -- the worker's retention -----------------------------------------------------------------------


@worker_test
async def test_the_worker_keeps_finished_instances_for_ever_by_default(stopped_long_ago):
    counts, worker = await worker_deletes()
    assert counts == {} and worker.stats["deleted"] == 0
    assert await db(remaining)() == set(stopped_long_ago.values())


@worker_test
async def test_the_worker_deletes_only_finished_instances_past_the_retention(settings, stopped_long_ago):
    settings.ATM_FINISHED_KEPT_DAYS = 30
    counts, worker = await worker_deletes()
    assert counts == {INSTANCES: 2, TASKS: 4, AUDIT: 1} and worker.stats["deleted"] == 2
    kept = {name: pk for name, pk in stopped_long_ago.items() if name not in ("finished", "audited")}
    assert await db(remaining)() == set(kept.values())  # failed, cancelled, waiting: kept at any age
    tasks = AutomationTaskModel.objects.filter(automation_id=stopped_long_ago["finished"])
    assert await db(tasks.count)() == 0
    assert await db(AuditEntry.objects.count)() == 0


@worker_test
async def test_the_retention_counts_from_the_last_update_in_days_or_parts_of_days(clock, settings):
    old, young = await db(finished)(clock, 2)
    clock.jump(hours=6)
    await db(lambda: AutomationModel.objects.get(pk=young).save())()  # updated 6 hours after it finished
    clock.jump(hours=7)
    settings.ATM_FINISHED_KEPT_DAYS = 0.5
    counts, _ = await worker_deletes()
    assert counts[INSTANCES] == 1 and await db(remaining)() == {young}


@worker_test
async def test_the_worker_deletes_in_batches_of_the_setting(clock, settings):
    await db(finished)(clock, 5)
    clock.jump(days=2)
    settings.ATM_FINISHED_KEPT_DAYS, settings.ATM_DELETE_BATCH = 1, 2
    counts, worker = await worker_deletes()
    assert counts == {INSTANCES: 5, TASKS: 10} and worker.stats["deleted"] == 5
    assert await db(remaining)() == set()


def deletes_of_instances(queries):
    """Return how many ids each ``DELETE`` of instance rows named."""
    table = AutomationModel._meta.db_table
    deletes = [q["sql"] for q in queries if q["sql"].startswith(f'DELETE FROM "{table}"')]
    return [len(re.search(r"IN \(([^)]*)\)", sql).group(1).split(",")) for sql in deletes]


# -- delete_history and its command ---------------------------------------------------------------


def test_delete_history_goes_in_batches_each_its_own_transaction_and_never_reads_more(clock):
    ids = finished(clock, 7)
    clock.jump(days=31)
    batches = []
    with CaptureQueriesContext(connection) as queries:
        result = AutomationModel.delete_history(batch_size=3, progress=batches.append)
    assert result == (21, {INSTANCES: 7, TASKS: 14})
    assert [(batch.chosen, batch.rows) for batch in batches] == [(3, 3), (3, 3), (1, 1)]
    assert deletes_of_instances(queries) == [3, 3, 1]
    sql = [q["sql"] for q in queries]
    assert sum(statement.startswith(("BEGIN", "SAVEPOINT")) for statement in sql) == 3
    table = AutomationModel._meta.db_table
    reads = [s for s in sql if s.startswith("SELECT") and f'FROM "{table}"' in s]
    assert reads and all("LIMIT 3" in s or " IN (" in s for s in reads)  # never every matching row
    assert remaining() == set() and set(ids)


def test_delete_history_tells_the_live_pages_of_each_deleted_instance(clock):
    ids = finished(clock, 3)
    clock.jump(days=31)
    told = []

    def receiver(sender, instance, **kwargs):
        told.append(instance.pk)

    pre_delete.connect(receiver, sender=AutomationModel, dispatch_uid="test_history")
    try:
        AutomationModel.delete_history(batch_size=2)
    finally:
        pre_delete.disconnect(receiver, sender=AutomationModel, dispatch_uid="test_history")
    assert sorted(told) == sorted(ids)


def test_delete_history_keeps_the_audit_entries_about_no_instance(clock):
    [old] = finished(clock)
    AuditEntry.objects.create(automation_id=old, action=AuditEntry.WAKE, username="ann")
    delegation = AuditEntry.objects.create(action=AuditEntry.DELEGATE, username="ann", details={"away": 1})
    clock.jump(days=31)
    assert AutomationModel.delete_history() == (4, {INSTANCES: 1, TASKS: 2, AUDIT: 1})
    assert list(AuditEntry.objects.all()) == [delegation]


def test_a_slow_batch_halves_the_next_and_quick_ones_grow_back():
    sizes = history.BatchSize(most=500, seconds=0.2)
    sizes.took(0.5)
    sizes.took(0.3)
    assert sizes.size == 125
    sizes.took(0.15)  # within the time, not quick: stays
    assert sizes.size == 125
    sizes.took(0.01)
    sizes.took(0.01)
    sizes.took(0.01)
    assert sizes.size == 500
    for _ in range(20):
        sizes.took(9)
    assert sizes.size == 1


def run_command(*args):
    out = StringIO()
    call_command("automation_delete_history", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_each_batch_and_the_counts(clock):
    finished(clock, 5)
    clock.jump(days=15)
    output = run_command("14", "--batch-size", "2", "--verbosity", "2")
    lines = [re.sub(r"in \d+ ms", "in N ms", line) for line in output.splitlines()]
    assert lines == [
        "Batch 1: 2 instance(s) in N ms (2 so far).",
        "Batch 2: 2 instance(s) in N ms (4 so far).",
        "Batch 3: 1 instance(s) in N ms (5 so far).",
        "Deleted 15 object(s) finished more than 14 day(s) ago "
        "(automations.AutomationModel: 5, automations.AutomationTaskModel: 10) in 3 batch(es).",
    ]


@pytest.mark.parametrize("args", [("--batch-size", "0"), ("--batch-size", "x"), ("-1",)])
def test_the_command_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        run_command(*args)


# -- the system check -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, "30", True, timedelta(days=30)])
def test_the_retention_must_be_a_positive_number_of_days_or_none(settings, value):
    settings.ATM_FINISHED_KEPT_DAYS = value
    assert check_limit_settings() == [
        checks.Error(
            f"ATM_FINISHED_KEPT_DAYS must be a positive number or None, not {value!r}.",
            hint="Set ATM_FINISHED_KEPT_DAYS to a positive number or None, or remove it for its default "
            "(None).",
            id="automations.E021",
        )
    ]
    for good in (None, 30, 0.5):
        settings.ATM_FINISHED_KEPT_DAYS = good
        assert check_limit_settings() == []
