"""Claim, unassign, reassign, snooze and delegation (automations.handover): who may, what changes."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.utils import timezone

from automations import handover
from automations.models import AuditEntry, AutomationTaskModel, Delegation
from automations.permissions import may_process
from automations.tasklist.queries import open_tasks_for
from automations.testing import frozen_clock
from tests.helpers import require_postgres
from tests.people.flows import ForAda, ForReviewers, Unassigned, make_user, open_task
from tests.test_postgres_concurrency import other_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def ruth(db):
    return make_user("ruth", groups=["Reviewers"])


def fresh(task):
    return AutomationTaskModel.objects.select_related("automation").get(pk=task.pk)


def actions(task):
    return list(AuditEntry.objects.filter(automation_id=task.automation_id).values_list("action", flat=True))


# -- claim ---------------------------------------------------------------------------------------


def test_a_claimed_task_leaves_the_other_members_queue_and_only_the_claimant_may_process_it(reviewer, ruth):
    task = open_task(ForReviewers())
    assert task in open_tasks_for(ruth)
    handover.claim(reviewer, task)
    task = fresh(task)
    assert task.interaction_user_id == reviewer.pk
    assert handover.is_claimed(task)
    assert may_process(reviewer, task) and not may_process(ruth, task)
    assert task not in open_tasks_for(ruth) and task in open_tasks_for(reviewer)
    assert actions(task) == ["claim"]
    entry = AuditEntry.objects.get(automation_id=task.automation_id)
    assert entry.describe() == "Task ask claimed by rita."


def test_claiming_needs_the_right_to_process_and_a_free_task(reviewer, ruth, bob):
    task = open_task(ForReviewers())
    with pytest.raises(handover.HandoverForbidden, match="may not process this task"):
        handover.claim(bob, task)
    handover.claim(reviewer, task)
    with pytest.raises(handover.HandoverError, match="yours already"):
        handover.claim(reviewer, task)
    with pytest.raises(handover.HandoverError, match="assigned to somebody already"):
        handover.claim(ruth, task)
    assert actions(task) == ["claim"]


def test_the_refusal_is_a_permission_denied_for_django_views(reviewer, bob):
    task = open_task(ForReviewers())
    with pytest.raises(PermissionDenied):
        handover.claim(bob, task)


def test_a_closed_task_cannot_be_claimed(reviewer):
    task = open_task(ForReviewers())
    AutomationTaskModel.objects.filter(pk=task.pk).update(finished=task.created)
    with pytest.raises(handover.HandoverError, match="not open any more"):
        handover.claim(reviewer, task)


# -- unassign ------------------------------------------------------------------------------------


def test_unassign_gives_a_claimed_task_back_to_the_queue(reviewer, ruth):
    task = open_task(ForReviewers())
    handover.claim(reviewer, task)
    with pytest.raises(handover.HandoverForbidden, match="holder or a manager"):
        handover.unassign(ruth, task)
    handover.unassign(reviewer, task)
    task = fresh(task)
    assert task.interaction_user_id is None
    assert may_process(ruth, task)
    assert actions(task) == ["claim", "unassign"]
    with pytest.raises(handover.HandoverError, match="in the queue already"):
        handover.unassign(reviewer, task)


def test_a_manager_unassigns_anybody_s_task(reviewer, db):
    manager = make_user("mia", permissions=["automations.reassign_task"])
    staff = make_user("sam", staff=True)
    task = open_task(ForReviewers())
    handover.claim(reviewer, task)
    handover.unassign(manager, task)
    handover.claim(reviewer, task)
    handover.unassign(staff, task)
    assert actions(task) == ["claim", "unassign", "claim", "unassign"]


def test_a_task_whose_form_names_its_user_has_no_queue_to_go_back_to(ada):
    task = open_task(ForAda())
    with pytest.raises(handover.HandoverError, match="names its user"):
        handover.unassign(ada, task)


# -- reassign ------------------------------------------------------------------------------------


def test_reassign_to_a_colleague_who_may_process_the_task(reviewer, ruth, bob):
    task = open_task(ForReviewers())
    handover.claim(reviewer, task)
    with pytest.raises(handover.HandoverError, match="bob may not process this task"):
        handover.reassign(reviewer, task, to_user=bob)
    handover.reassign(reviewer, task, to_user=ruth)
    task = fresh(task)
    assert task.interaction_user_id == ruth.pk
    assert not may_process(reviewer, task) and may_process(ruth, task)
    entry = AuditEntry.objects.filter(automation_id=task.automation_id).last()
    assert entry.describe() == "Task ask handed to ruth by rita."


def test_reassign_to_a_group_queues_the_task_for_its_members(reviewer, bob):
    Group.objects.create(name="Helpers").user_set.add(bob)
    task = open_task(ForReviewers())
    handover.reassign(reviewer, task, to_group=Group.objects.get(name="Helpers"))
    task = fresh(task)
    assert task.interaction_group.name == "Helpers"
    assert may_process(bob, task) and not may_process(reviewer, task)


def test_who_may_reassign(reviewer, ruth, bob, ada):
    task = open_task(ForReviewers())
    with pytest.raises(handover.HandoverForbidden):
        handover.reassign(bob, task, to_user=ruth)
    handover.claim(reviewer, task)
    with pytest.raises(handover.HandoverForbidden):
        handover.reassign(ruth, task, to_user=ruth)  # a colleague may not take it from the holder
    with pytest.raises(handover.HandoverError, match="one user or to one group"):
        handover.reassign(reviewer, task)
    named = open_task(ForAda())
    with pytest.raises(handover.HandoverError, match="hand it to a user instead"):
        handover.reassign(ada, named, to_group=Group.objects.get(name="Reviewers"))


# -- snooze --------------------------------------------------------------------------------------


@frozen_clock()
def test_a_snoozed_task_is_claimed_and_put_aside_until_its_time(reviewer, ruth):
    task = open_task(ForReviewers())
    until = timezone.now() + timedelta(hours=2)
    handover.snooze(reviewer, task, until)
    task = fresh(task)
    assert task.interaction_user_id == reviewer.pk and task.snoozed_until == until
    assert handover.is_snoozed(task)
    assert not may_process(ruth, task)
    assert not handover.is_snoozed(task, now=until)
    with pytest.raises(handover.HandoverForbidden):
        handover.snooze(ruth, task, None)
    handover.snooze(reviewer, task, None)
    assert not handover.is_snoozed(fresh(task))
    assert actions(task) == ["snooze", "snooze"]


@frozen_clock()
def test_a_snooze_must_end_in_the_future(reviewer):
    task = open_task(ForReviewers())
    with pytest.raises(handover.HandoverError, match="still to come"):
        handover.snooze(reviewer, task, timezone.now())
    with pytest.raises(handover.HandoverError, match="as a date and time"):
        handover.snooze(reviewer, task, "monday")
    assert actions(task) == []


# -- delegation ----------------------------------------------------------------------------------


@frozen_clock()
def test_a_substitute_sees_and_may_process_the_absent_user_s_personal_tasks(ada, bob):
    task = open_task(ForAda())
    queued = open_task(Unassigned())
    assert not may_process(bob, task)
    delegation = handover.delegate(ada, bob, timezone.now() + timedelta(days=7))
    assert may_process(bob, task) and task in open_tasks_for(bob)
    assert queued in open_tasks_for(bob)
    handover.end_delegation(ada, delegation)
    assert not may_process(bob, task) and task not in open_tasks_for(bob)


@frozen_clock()
def test_a_delegation_counts_only_within_its_period(ada, bob):
    now = timezone.now()
    task = open_task(ForAda())
    handover.delegate(ada, bob, now + timedelta(days=2), starts=now + timedelta(days=1))
    assert not may_process(bob, task)
    with frozen_clock(now + timedelta(days=1, hours=1)):
        assert may_process(bob, task)
    with frozen_clock(now + timedelta(days=3)):
        assert not may_process(bob, task)


@frozen_clock()
def test_delegation_rules(ada, bob, root):
    later = timezone.now() + timedelta(days=1)
    with pytest.raises(handover.HandoverForbidden, match="themselves or a manager"):
        handover.delegate(ada, bob, later, by=bob)
    with pytest.raises(handover.HandoverError, match="somebody else"):
        handover.delegate(ada, ada, later)
    with pytest.raises(handover.HandoverError, match="end after it starts"):
        handover.delegate(ada, bob, timezone.now())
    handover.delegate(ada, bob, later, by=root)
    with pytest.raises(handover.HandoverError, match="substitute for part of this period"):
        handover.delegate(ada, root, later)
    assert Delegation.objects.count() == 1


# -- the audit of delegations ----------------------------------------------------------------------


MONDAY_9AM = datetime(2026, 3, 2, 9, 0)


def in_utc(moment):
    return moment.astimezone(UTC).isoformat()


def delegation_entries():
    return list(AuditEntry.objects.filter(automation=None).order_by("pk"))


@frozen_clock(MONDAY_9AM)
def test_delegating_writes_one_audit_line_about_no_instance(ada, bob, root):
    now = timezone.now()
    made = handover.delegate(ada, bob, now + timedelta(days=7), starts=now + timedelta(days=1), by=root)
    [entry] = delegation_entries()
    assert (entry.automation, entry.user, entry.username, entry.action) == (None, root, "root", "delegate")
    assert entry.details == {
        "delegation": made.pk,
        "away": ada.pk,
        "away_name": "ada",
        "substitute": bob.pk,
        "substitute_name": "bob",
        "starts": in_utc(now + timedelta(days=1)),
        "ends": in_utc(now + timedelta(days=7)),
    }
    assert (
        entry.describe()
        == "root named bob as substitute for ada from 2026-03-03 09:00 until 2026-03-09 09:00."
    )
    assert str(entry) == "delegate by root"


def test_ending_a_delegation_writes_one_audit_line_saying_whether_it_was_dropped(ada, bob):
    with frozen_clock(MONDAY_9AM) as clock:
        now = timezone.now()
        running = handover.delegate(ada, bob, now + timedelta(days=7))
        clock.jump(hours=1)
        handover.end_delegation(bob, running)
        handover.end_delegation(bob, running)  # ended already: nothing to do, nothing to audit
        coming = handover.delegate(ada, bob, now + timedelta(days=9), starts=now + timedelta(days=8))
        handover.end_delegation(ada, coming)
        handover.end_delegation(ada, coming)  # dropped already
        assert not Delegation.objects.filter(ends__gt=timezone.now()).exists()
    entries = delegation_entries()
    assert [entry.action for entry in entries] == ["delegate", "end_delegation", "delegate", "end_delegation"]
    ended, dropped = entries[1], entries[3]
    assert (ended.username, ended.details["dropped"]) == ("bob", False)
    assert ended.details["delegation"] == running.pk
    assert ended.details["ends"] == in_utc(now + timedelta(days=7))  # as it was planned
    assert ended.created == now + timedelta(hours=1)
    assert ended.describe() == "bob ended the delegation of ada to bob, planned until 2026-03-09 09:00."
    assert (dropped.username, dropped.details["dropped"]) == ("ada", True)
    assert dropped.describe() == (
        "ada dropped the delegation of ada to bob from 2026-03-10 09:00 until 2026-03-11 09:00 "
        "before it started."
    )


@frozen_clock()
def test_a_refused_delegation_writes_no_audit_line(ada, bob, root):
    later = timezone.now() + timedelta(days=1)
    with pytest.raises(handover.HandoverForbidden):
        handover.delegate(ada, bob, later, by=bob)
    made = handover.delegate(ada, bob, later)
    with pytest.raises(handover.HandoverError, match="substitute for part of this period"):
        handover.delegate(ada, root, later)
    with pytest.raises(handover.HandoverForbidden):
        handover.end_delegation(root.__class__.objects.create_user("eve"), made)
    assert [entry.action for entry in delegation_entries()] == ["delegate"]


@frozen_clock()
def test_the_delegation_and_its_audit_line_are_one_transaction(ada, bob, monkeypatch):
    def failing_audit(*args, **kwargs):
        raise RuntimeError("the audit cannot be written")

    made = handover.delegate(ada, bob, timezone.now() + timedelta(days=1))
    monkeypatch.setattr(handover, "audit", failing_audit)
    with pytest.raises(RuntimeError):
        handover.delegate(bob, ada, timezone.now() + timedelta(days=1))
    with pytest.raises(RuntimeError):
        handover.end_delegation(ada, made)
    assert list(Delegation.objects.values_list("user", "ends")) == [(ada.pk, made.ends)]
    assert len(delegation_entries()) == 1


@frozen_clock()
def test_an_inactive_user_is_refused_by_the_check_forms_use(ada, bob):
    bob.is_active = False
    with pytest.raises(handover.HandoverError, match="no active user bob"):
        handover.check_delegation(ada, bob, timezone.now(), timezone.now() + timedelta(days=1), by=ada)


@pytest.mark.django_db(transaction=True)
def test_ending_a_delegation_waits_for_whoever_ends_it_at_the_same_time_on_postgres(ada, bob):
    require_postgres()
    now = timezone.now()
    made = handover.delegate(ada, bob, now + timedelta(days=3), starts=now - timedelta(hours=1))
    with other_connection() as first:  # somebody else ends it and has not committed yet
        first.execute("SELECT id FROM automations_delegation WHERE id = %s FOR UPDATE", [made.pk])
        first.execute(
            "UPDATE automations_delegation SET ends = now() - interval '1 minute' WHERE id = %s", [made.pk]
        )
        waits_for_then_runs_after(first, lambda: handover.end_delegation(bob, made))
    assert Delegation.objects.get().ends < timezone.now() - timedelta(seconds=30)  # the first's end stays
    assert [entry.action for entry in delegation_entries()] == ["delegate"]  # the second did nothing


@pytest.mark.django_db(transaction=True)
def test_two_delegations_for_one_user_made_at_once_on_postgres_give_one(ada, bob):
    require_postgres()
    carl = make_user("carl")
    now = timezone.now()
    outcome = []

    def delegate_too():
        try:
            handover.delegate(ada, carl, now + timedelta(days=2), starts=now)
        except handover.HandoverError as exc:
            outcome.append(str(exc))
        else:
            outcome.append("made")

    users = get_user_model()._meta.db_table
    with other_connection() as first:  # delegate(ada, bob) in another process, not committed yet
        first.execute(f"SELECT id FROM {users} WHERE id = %s FOR UPDATE", [ada.pk])
        first.execute(
            "INSERT INTO automations_delegation (user_id, substitute_id, starts, ends, created)"
            " VALUES (%s, %s, now(), now() + interval '3 days', now())",
            [ada.pk, bob.pk],
        )
        waits_for_then_runs_after(first, delegate_too)
    assert outcome == ["ada has a substitute for part of this period already: end that delegation first."]
    assert list(Delegation.objects.values_list("substitute__username", flat=True)) == ["bob"]
    assert not delegation_entries()


def waits_for_then_runs_after(first, action):
    """Run ``action`` on a thread: check that it waits for a lock, commit ``first``; return once it ran."""
    finished = threading.Event()

    def run():
        try:
            action()
        finally:
            finished.set()
            connections.close_all()

    second = threading.Thread(target=run)
    second.start()
    wait_for_a_lock_wait()
    assert not finished.is_set()
    first.commit()
    second.join(30)
    assert finished.is_set()


def wait_for_a_lock_wait(seconds=20.0):
    """Return once a connection of the test database waits for a row lock; fail after ``seconds``."""
    waiting = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(waiting)
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    pytest.fail("Nobody waited for the lock.")
