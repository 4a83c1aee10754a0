"""Upgrading a django-automations 0.9.4.1 database: its sample instances go on as they would have."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django.test import RequestFactory
from django.urls import reverse

from automations import engine, flow, testing
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel
from automations.page_views import instance_for_key, page_viewed
from automations.upgrade.legacy import LEGACY_MIGRATIONS
from automations.upgrade.plan import legacy_key
from tests import legacy_db
from tests.legacyapp import automations as legacy_automations

pytestmark = pytest.mark.django_db(transaction=True)

UPGRADED_AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
SAMPLE_KEYS = {row["id"]: row["key"] for row in legacy_db.sample_rows()["automations_automationmodel"]}
# Rows 0.9.4.1 wrote, with what get_key() returned for each instance (see the file's "about").
SHARED_KEYS = legacy_db.SAMPLE.with_name("legacy-0.9.4.1-shared-keys.json")
SHARED_KEYS_UPGRADED_AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def at(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def applied_migrations():
    return {name for app, name in MigrationRecorder(connection).applied_migrations() if app == "automations"}


def migrate_to_the_end():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def make_legacy_database(rows=None):
    """Replace the tables by those of django-automations 0.9.4.1, holding ``rows`` (default: the sample)."""
    MigrationExecutor(connection).migrate([("automations", None)])
    legacy_db.create_legacy_tables(connection)
    legacy_db.record_legacy_migrations(connection)
    user_model = get_user_model()
    user_model.objects.create_user(id=1, username="manager", password="manager")
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [user_model]):
            cursor.execute(statement)
    legacy_db.load_sample_rows(connection, rows)


@pytest.fixture
def legacy_site():
    """A database as django-automations 0.9.4.1 left it, with the sample rows; migrated back at the end.

    The time is frozen at the upgrade, conditions re-checked hourly; the fixture's value is the clock.
    """
    with testing.frozen_clock(UPGRADED_AT, recheck=timedelta(hours=1)) as clock:
        make_legacy_database()
        yield clock
        migrate_to_the_end()


@pytest.fixture
def upgraded(legacy_site):
    migrate_to_the_end()
    return legacy_site


def test_the_upgrade_runs_the_conversion_and_leaves_no_model_changes(upgraded):
    applied = applied_migrations()
    assert {"0007_upgrade_fields", "0008_upgrade_rows", "0009_upgrade_schema", "0003_event_inbox"} <= applied
    from django.apps import apps

    loader = MigrationExecutor(connection).loader
    autodetector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps))
    changes = autodetector.changes(loader.graph)
    assert "automations" not in changes


def test_a_fresh_database_runs_the_squashed_migration_only():
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan([("automations", None)])
    names = [migration.name for migration, _ in plan]
    assert "0001_squashed_0009_upgrade_schema" in names and "0001_initial" not in names
    applied = applied_migrations()
    assert set(LEGACY_MIGRATIONS) <= applied  # recorded for the squashed migration they stand for


def test_the_keys_are_what_get_key_returned_in_0_9_and_new_instances_get_random_ones(upgraded):
    keys = dict(AutomationModel.objects.values_list("pk", "key"))
    classes = dict(AutomationModel.objects.values_list("pk", "automation_class"))
    assert keys == {pk: legacy_key(classes[pk], pk) for pk in keys}
    assert AutomationModel.objects.get(pk=2).instance.get_key() == keys[2]
    new = legacy_automations.Waiter()
    key = new.get_key()
    assert key not in keys.values() and len(key) == 43


def test_legacy_key_is_what_0_9_stored_once_an_instance_saved_itself():
    """The rows as 0.9 wrote them, under their own class paths: five stored get_key()'s value."""
    rows = json.loads(legacy_db.SAMPLE.read_text(encoding="utf-8"))["automations_automationmodel"]
    same = {row["id"] for row in rows if legacy_key(row["automation_class"], row["id"]) == row["key"]}
    assert same == {1, 3, 4, 6, 7}


@pytest.fixture
def shared_keys_legacy_site():
    """A database 0.9.4.1 made, with three waiting instances sharing one stored key; migrated at the end.

    The fixture's value is ``{id: what get_key() returned for it in 0.9}``.
    """
    rows = json.loads(SHARED_KEYS.read_text(encoding="utf-8"))
    with testing.frozen_clock(SHARED_KEYS_UPGRADED_AT, recheck=timedelta(hours=1)):
        make_legacy_database(rows)
        yield {int(pk): key for pk, key in rows["get_key"].items()}
        migrate_to_the_end()


@pytest.fixture
def shared_keys_site(shared_keys_legacy_site):
    migrate_to_the_end()
    return shared_keys_legacy_site


def test_every_key_0_9_gave_out_finds_its_instance(shared_keys_site):
    stored = {row["key"] for row in json.loads(SHARED_KEYS.read_text())["automations_automationmodel"]}
    assert len(stored) == 3  # the three waiters (2, 3, 5) share one
    for pk, key in shared_keys_site.items():
        assert AutomationModel.objects.get_by_reference(key).pk == pk
        assert AutomationModel.objects.get(pk=pk).instance.get_key() == key
        assert instance_for_key(flow.Automation, key).pk == pk  # a page's ?key= parameter


def test_the_check_says_which_instances_get_the_key_0_9_gave_out(shared_keys_legacy_site, capsys):
    call_command("automation_upgrade_check")
    out = capsys.readouterr().out
    assert "Everything can be carried over." in out
    assert "3 instance(s) get the key their get_key() returned in 0.9" in out


def test_a_message_sent_by_a_key_0_9_gave_out_reaches_that_instance(shared_keys_site):
    waiters = [2, 3, 5]
    legacy_automations.Waiter.dispatch_message(shared_keys_site[3], "go")
    page_viewed(RequestFactory().get("/", {"key": shared_keys_site[5]}), shared_keys_site[5], "go")
    engine.sweep()
    finished = dict(AutomationModel.objects.filter(pk__in=waiters).values_list("pk", "finished"))
    assert finished == {2: False, 3: True, 5: True}


def test_the_sleeping_one_wakes_at_its_time(upgraded):
    clock = upgraded
    sleeper = AutomationModel.objects.get(pk=1)
    assert sleeper.wake_at == at("2026-12-02 19:27:19.767439")
    clock.advance_to(at("2026-12-02 19:27:19"))
    assert not AutomationModel.objects.get(pk=1).finished
    clock.advance_to(at("2026-12-02 19:27:20"))
    sleeper.refresh_from_db()
    assert sleeper.finished and sleeper.data == {"email": "a@example.com", "said": 1, "reminded": True}
    tasks = AutomationTaskModel.objects.filter(automation=sleeper).order_by("pk")
    assert list(tasks.values_list("status", flat=True)) == ["welcome", "wait", "end"]


def test_the_manager_decides_the_form_from_the_task_list(upgraded, client):
    manager = get_user_model().objects.get(username="manager")
    client.force_login(manager)
    task = AutomationTaskModel.objects.get(automation_id=2, finished=None)
    assert task.status == "approve" and task.interaction_user == manager
    task_list = client.get(reverse("automations:task_list")).content.decode()
    assert reverse("automations:task", args=[task.pk]) in task_list
    old_link = client.get(f"/automations/{task.pk}", follow=True)  # as in 0.9's e-mails
    assert old_link.redirect_chain == [(reverse("automations:task", args=[task.pk]), 301)]
    client.post(reverse("automations:task", args=[task.pk]), {"approved": "on"})
    approval = AutomationModel.objects.get(pk=2)
    assert approval.finished and approval.data["decided"] is True


def test_the_parallel_one_joins(upgraded):
    clock = upgraded
    parallel = AutomationModel.objects.get(pk=3)
    open_tasks = AutomationTaskModel.objects.filter(automation=parallel, finished=None)
    paths = dict(open_tasks.values_list("status", "path"))
    assert paths == {"right": "5@join", "join": "5@join"}
    clock.advance_to(at("2026-12-01 21:27:20"))
    parallel.refresh_from_db()
    assert parallel.finished and parallel.data == {"visited": ["right", "after"]}


def test_the_daily_one_ticks_again(upgraded):
    clock = upgraded
    clock.advance_to(at("2026-12-02 19:27:20"))
    daily = AutomationModel.objects.get(pk=4)
    assert daily.data == {"ticks": 1} and not daily.finished
    assert daily.wake_at == at("2026-12-03 19:27:19.925159")  # a day after the first repeat
    clock.advance_to(at("2026-12-03 19:27:20"))
    daily.refresh_from_db()
    assert daily.data == {"ticks": 2}


def test_the_blocked_one_finishes_after_a_message_sent_by_the_key_0_9_gave_out(upgraded):
    waiter = AutomationModel.objects.get_by_reference(legacy_key("tests.legacyapp.automations.Waiter", 5))
    engine.sweep()
    assert not AutomationModel.objects.get(pk=waiter.pk).finished
    waiter.instance.send_message("go")
    waiter.refresh_from_db()
    assert waiter.finished


def test_the_broken_one_is_shown_among_errors(upgraded, client):
    broken = AutomationModel.objects.get(pk=6)
    assert (broken.finished, broken.error) == (False, "Broken.start: ZeroDivisionError('division by zero')")
    failed = AutomationTaskModel.objects.get(automation=broken)
    assert failed.finished is not None and set(failed.result) == {"error", "exception", "traceback"}
    assert failed.result["traceback"].startswith("ZeroDivisionError\ndivision by zero")
    admin = get_user_model().objects.create_superuser("admin", password="admin")
    client.force_login(admin)
    page = client.get(reverse("automations:errors")).content.decode()
    assert "ZeroDivisionError: division by zero" in page and "technical 500" not in page


def test_the_check_says_where_each_instance_moves(legacy_site, capsys):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE automations_automationtaskmodel SET status = 'gone' WHERE id = 17")
    call_command("automation_upgrade_check")
    out = capsys.readouterr().out
    assert "#1 tests.legacyapp.automations.Onboarding: running, at wait (sleeps until 2026-12-02" in out
    assert "#2 tests.legacyapp.automations.Approval: running, at approve (a person's input)" in out
    assert "#6 tests.legacyapp.automations.Broken: error, listed among errors" in out
    assert "6 running, 1 listed among errors, 0 finished (kept as history)." in out
    assert "#7 tests.legacyapp.automations.Onboarding: its node 'gone' does not exist in the code" in out
    # The same report as automation_versions --check, from the same findings:
    assert "Onboarding.gone: 1 instance stands on this node, which the class does not declare any" in out
    assert "1 running instance(s) would be stranded or their path changed under them (1 node(s))." in out
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM automations_automationtaskmodel WHERE locked = -1")
        assert cursor.fetchone() == (1,)


def test_the_check_follows_the_renames_of_the_classes(legacy_site, capsys):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE automations_automationtaskmodel SET status = 'sleep' WHERE id = 17")
    with testing.restored_registry():

        class Onboarding(legacy_automations.Onboarding):  # the release that renamed wait to sleep
            __module__, __qualname__ = legacy_automations.__name__, "Onboarding"

            class Meta:
                version = 2
                renamed_nodes = {"sleep": "wait"}

        call_command("automation_upgrade_check")
    out = capsys.readouterr().out
    assert "Onboarding.sleep: 1 instance moves to wait (renamed)." in out
    assert "does not exist" not in out and "would be stranded" not in out
    assert "Everything can be carried over." in out


def test_the_check_after_the_upgrade_has_nothing_to_do(upgraded, capsys):
    call_command("automation_upgrade_check")
    assert "Nothing to upgrade" in capsys.readouterr().out


def test_the_status_migration_gives_each_carried_over_instance_its_status(upgraded):
    statuses = dict(AutomationModel.objects.values_list("pk", "status"))
    assert statuses == {
        1: "waiting_for_time",  # asleep until tomorrow
        2: "waiting_for_person",  # the manager's approval form
        3: "waiting_for_time",  # a parallel path waits an hour
        4: "waiting_for_time",
        5: "running",  # its condition is checked at once after the upgrade
        6: "failed",
        7: "waiting_for_time",
    }


def test_the_status_migration_turns_audit_lines_into_entries_and_kills_into_cancels():
    """Rows written before ``0004_instance_status``: audit lines were task rows; a kill was an error."""
    executor = MigrationExecutor(connection)
    executor.migrate([("automations", "0003_event_inbox")])
    old = executor.loader.project_state([("automations", "0003_event_inbox")]).apps
    instances = old.get_model("automations", "AutomationModel")
    tasks = old.get_model("automations", "AutomationTaskModel")
    user = get_user_model().objects.create_user("olga")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    killed = instances.objects.create(automation_class="gone.Old", error="Killed by olga.", key="k1")
    tasks.objects.create(automation=killed, status="ask", created=now, finished=now, message="killed")
    tasks.objects.create(automation=killed, status="", created=now, finished=now, message="Killed by olga.",
                         result={"audit": "kill", "user": "olga"}, finished_by_id=user.pk)  # fmt: skip
    woken = instances.objects.create(automation_class="gone.Old", wake_at=now, key="k2")
    tasks.objects.create(automation=woken, status="", created=now, finished=now, message="Woken by olga.",
                         result={"audit": "wake", "user": "olga"}, finished_by_id=user.pk)  # fmt: skip
    done = instances.objects.create(automation_class="gone.Old", finished=True, key="k3")
    broken = instances.objects.create(automation_class="gone.Old", error="Old.ask: ValueError()", key="k4")
    waiting = instances.objects.create(automation_class="gone.Old", key="k5")
    migrate_to_the_end()
    statuses = dict(AutomationModel.objects.values_list("pk", "status"))
    assert statuses == {killed.pk: "cancelled", woken.pk: "running", done.pk: "finished",
                        broken.pk: "failed", waiting.pk: "waiting_for_message"}  # fmt: skip
    assert AutomationModel.objects.get(pk=killed.pk).error == ""  # a cancel is not an error
    assert not AutomationTaskModel.objects.filter(status="").exists()
    entries = AuditEntry.objects.order_by("automation_id")
    assert [(e.automation_id, e.action, e.user, e.username, e.reason) for e in entries] == [
        (killed.pk, "cancel", user, "olga", "Killed by olga."),
        (woken.pk, "wake", user, "olga", ""),
    ]
