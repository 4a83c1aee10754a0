"""Hand-over in the pages and the sockets: the inbox's buttons, the hand-over page, the form's rules."""

from datetime import datetime, timedelta
from html import unescape

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from automations import handover
from automations.models import AuditEntry, AutomationTaskModel, Delegation
from automations.tasklist.inbox import snooze_end
from automations.testing import frozen_clock
from consumers.task_list import TaskListConsumer
from tests.people.flows import ForAda, ForReviewers, make_user, open_task
from tests.people.test_live import connected, empty_channel_layer  # noqa: F401 - an autouse fixture

ACTIONS = reverse("automations:task_actions")
LIST = reverse("automations:task_list")


@pytest.fixture
def ruth(db):
    return make_user("ruth", groups=["Reviewers"])


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def section(html, name):
    """Return the part of the task list ``html`` in the section ``name`` (empty if there is none)."""
    start = html.find(f'data-atm-section="{name}"')
    if start < 0:
        return ""
    end = html.find("</section>", start)
    return html[start:end]


@pytest.mark.django_db
def test_claim_from_the_inbox_moves_the_task_to_mine_and_out_of_the_colleague_s_queue(reviewer, ruth):
    task = open_task(ForReviewers())
    rita, other = client_of(reviewer), client_of(ruth)
    page = rita.get(LIST).content.decode()
    assert f'value="claim {task.pk}"' in section(page, "queue")
    response = rita.post(ACTIONS, {"do": f"claim {task.pk}", "next": LIST}, follow=True)
    assert "1 task claimed." in response.content.decode()
    page = rita.get(LIST).content.decode()
    assert f'data-atm-task="{task.pk}"' in section(page, "mine")
    assert f'value="unassign {task.pk}"' in page
    assert f'data-atm-task="{task.pk}"' not in other.get(LIST).content.decode()


@pytest.mark.django_db
def test_bulk_actions_report_what_was_done_and_what_was_refused(reviewer, ruth):
    first, second = open_task(ForReviewers()), open_task(ForReviewers())
    handover.claim(ruth, second)
    response = client_of(reviewer).post(ACTIONS, {"do": "claim", "task": [first.pk, second.pk]}, follow=True)
    text = response.content.decode()
    assert "1 task claimed." in text
    assert f"#{second.pk}: This task is assigned to somebody already" in text
    assert AutomationTaskModel.objects.get(pk=first.pk).interaction_user_id == reviewer.pk


@pytest.mark.django_db
def test_an_unknown_action_or_no_selection_changes_nothing(reviewer):
    task = open_task(ForReviewers())
    client = client_of(reviewer)
    assert (
        "There is no such action."
        in client.post(ACTIONS, {"do": f"steal {task.pk}"}, follow=True).content.decode()
    )
    assert "Select the tasks first." in client.post(ACTIONS, {"do": "claim"}, follow=True).content.decode()
    assert (
        "Give the date and time"
        in client.post(ACTIONS, {"do": f"snooze {task.pk}", "until": "monday"}, follow=True).content.decode()
    )
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_a_snoozed_task_is_listed_apart_until_its_time(reviewer):
    task = open_task(ForReviewers())
    client = client_of(reviewer)
    with frozen_clock() as clock:
        until = timezone.localtime() + timedelta(hours=3)
        client.post(ACTIONS, {"do": f"snooze {task.pk}", "until": until.strftime("%Y-%m-%dT%H:%M:%S")})
        page = client.get(LIST).content.decode()
        assert f'data-atm-task="{task.pk}"' in section(page, "snoozed")
        assert f'data-atm-task="{task.pk}"' not in section(page, "mine")
        clock.jump(hours=3)
        page = client.get(LIST).content.decode()
        assert section(page, "snoozed") == "" and f'data-atm-task="{task.pk}"' in section(page, "mine")


@pytest.mark.parametrize(
    ("start", "next_monday"),
    [
        ("2026-12-07 09:00", "2026-12-14"),  # a Monday: the next one
        ("2026-12-08 00:01", "2026-12-14"),
        ("2026-12-13 23:30", "2026-12-14"),
    ],
)
def test_the_offered_snoozes_end_in_the_morning(start, next_monday):
    with frozen_clock(datetime.fromisoformat(start)) as clock:  # a naive start is local time
        assert snooze_end("hour") == clock.now + timedelta(hours=1)
        tomorrow = timezone.localtime(snooze_end("tomorrow"))
        assert (tomorrow.date() - timezone.localtime(clock.now).date()).days == 1 and tomorrow.hour == 8
        monday = timezone.localtime(snooze_end("monday"))
        assert monday.date().isoformat() == next_monday and monday.hour == 8
        assert snooze_end("never") is None


@pytest.mark.django_db
def test_the_hand_over_page_hands_a_task_to_a_colleague(reviewer, ruth, bob):
    task = open_task(ForReviewers())
    url = reverse("automations:task_reassign", args=[task.pk])
    assert client_of(bob).get(url).status_code == 404
    client = client_of(reviewer)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"username": "bob"})
    assert refused.status_code == 409 and "bob may not process this task" in refused.content.decode()
    assert "one of them" in client.post(url, {}).content.decode()
    response = client.post(url, {"username": "ruth"}, follow=True)
    assert f"Task #{task.pk} handed to ruth." in response.content.decode()
    assert AutomationTaskModel.objects.get(pk=task.pk).interaction_user_id == ruth.pk


@pytest.mark.django_db
def test_a_form_posted_by_a_colleague_after_a_claim_keeps_the_input_and_says_who_has_it(reviewer, ruth):
    task = open_task(ForReviewers())
    url = reverse("automations:task", args=[task.pk])
    handover.claim(reviewer, task)
    other = client_of(ruth)
    page = other.get(url)
    assert page.status_code == 409 and "rita has taken this task" in page.content.decode()
    posted = other.post(url, {"approved": "on", "comment": "Fine by me"})
    text = posted.content.decode()
    assert posted.status_code == 409 and "Fine by me" in text and "your input was not saved" in text
    assert AutomationTaskModel.objects.get(pk=task.pk).finished is None
    assert client_of(make_user("zed")).get(url).status_code == 404  # nothing to learn for outsiders


@pytest.mark.django_db
@frozen_clock()
def test_a_substitute_processes_the_absent_user_s_task(ada, bob):
    task = open_task(ForAda())
    url = reverse("automations:task", args=[task.pk])
    assert client_of(bob).get(url).status_code == 404
    handover.delegate(ada, bob, timezone.now() + timedelta(days=3))
    client = client_of(bob)
    assert f'data-atm-task="{task.pk}"' in section(client.get(LIST).content.decode(), "mine")
    assert client.post(url, {"approved": "on", "comment": "For Ada"}).status_code == 302
    finished = AutomationTaskModel.objects.get(pk=task.pk)
    assert finished.finished is not None and finished.finished_by_id == bob.pk


# -- the socket ------------------------------------------------------------------------------------


sync = database_sync_to_async


@pytest.mark.django_db(transaction=True)
async def test_the_socket_drops_a_claimed_task_and_brings_a_snoozed_one_back_at_its_time(monkeypatch):
    rita = await sync(make_user)("rita", groups=["Reviewers"])
    ruth = await sync(make_user)("ruth", groups=["Reviewers"])
    task = await sync(lambda: open_task(ForReviewers()))()
    with frozen_clock() as clock:
        monkeypatch.setattr(TaskListConsumer, "call_later", staticmethod(clock.call_later))
        mine, theirs = await connected(rita), await connected(ruth)
        assert [t["id"] for t in (await mine.receive_json_from(timeout=5))["tasks"]] == [task.pk]
        await theirs.receive_json_from(timeout=5)

        await sync(handover.snooze)(rita, task, clock.now + timedelta(hours=2))
        assert (await theirs.receive_json_from(timeout=5))["tasks"] == []
        snoozed = await mine.receive_json_from(timeout=5)
        while snoozed["count"] != 0:  # the claim's refresh and the snooze's may come apart
            snoozed = await mine.receive_json_from(timeout=5)
        assert snoozed["tasks"][0]["snoozed_until"] is not None
        assert 'data-atm-section="snoozed"' in snoozed["html"]

        await clock.aadvance(hours=2)
        back = await mine.receive_json_from(timeout=5)
        assert back["count"] == 1 and 'data-atm-section="snoozed"' not in back["html"]
        await mine.disconnect()
        await theirs.disconnect()


# -- the admin -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_gives_tasks_back_and_checks_delegations(reviewer, ada, bob):
    boss = make_user("boss", superuser=True)
    task = open_task(ForReviewers())
    handover.claim(reviewer, task)
    admin = client_of(boss)
    changelist = reverse("admin:automations_automationtaskmodel_changelist")
    assert reverse("automations:task_reassign", args=[task.pk]) in admin.get(changelist).content.decode()
    response = admin.post(changelist, {"action": "give_back", "_selected_action": [task.pk]}, follow=True)
    assert "1 tasks given back to the queue." in response.content.decode()
    assert AutomationTaskModel.objects.get(pk=task.pk).interaction_user_id is None
    assert list(AuditEntry.objects.values_list("action", "username")) == [
        ("claim", "rita"),
        ("unassign", "boss"),
    ]

    add = reverse("admin:automations_delegation_add")
    now = timezone.localtime()
    period = {
        "starts_0": now.strftime("%Y-%m-%d"), "starts_1": now.strftime("%H:%M:%S"),
        "ends_0": (now + timedelta(days=2)).strftime("%Y-%m-%d"), "ends_1": "12:00:00",
    }  # fmt: skip
    refused = admin.post(add, {"user": ada.pk, "substitute": ada.pk, **period})
    assert "Name somebody else as the substitute." in refused.content.decode()
    assert admin.post(add, {"user": ada.pk, "substitute": bob.pk, **period}).status_code == 302
    made = Delegation.objects.get()
    assert (made.user, made.substitute, made.created_by) == (ada, bob, boss)
    [entry] = AuditEntry.objects.filter(action=AuditEntry.DELEGATE)  # made by handover.delegate
    assert (entry.automation, entry.username, entry.details["delegation"]) == (None, "boss", made.pk)
    bob.is_active = False
    bob.save()
    inactive = admin.post(add, {"user": bob.pk, "substitute": ada.pk, **period})
    assert "There is no active user bob." in inactive.content.decode()
    assert Delegation.objects.count() == 1


@pytest.mark.django_db
def test_a_delegation_made_meanwhile_shows_the_admins_form_again_with_its_error(ada, bob, monkeypatch):
    carl, boss = make_user("carl"), make_user("boss", superuser=True)
    now = timezone.localtime()
    handover.delegate(ada, carl, now + timedelta(days=5), starts=now - timedelta(hours=1))
    real_check = handover.check_delegation

    def before_the_other_committed(*args, **kwargs):  # the form's first check did not see it yet
        monkeypatch.setattr(handover, "check_delegation", real_check)

    monkeypatch.setattr(handover, "check_delegation", before_the_other_committed)
    period = {
        "starts_0": now.strftime("%Y-%m-%d"), "starts_1": now.strftime("%H:%M:%S"),
        "ends_0": (now + timedelta(days=2)).strftime("%Y-%m-%d"), "ends_1": "12:00:00",
    }  # fmt: skip
    response = client_of(boss).post(
        reverse("admin:automations_delegation_add"), {"user": ada.pk, "substitute": bob.pk, **period}
    )
    page = unescape(response.content.decode())
    assert response.status_code == 200
    assert "ada has a substitute for part of this period already" in page
    assert f'name="substitute" value="{bob.pk}"' in page  # what was entered is kept
    assert list(Delegation.objects.values_list("substitute", flat=True)) == [carl.pk]
    assert list(AuditEntry.objects.values_list("action", "username")) == [("delegate", "ada")]


@pytest.mark.django_db
def test_the_admin_ends_delegations_through_handover_and_changes_or_deletes_none(ada, bob):
    boss = make_user("boss", superuser=True)
    with frozen_clock() as clock:
        made = handover.delegate(ada, bob, timezone.now() + timedelta(days=3))
        clock.jump(hours=1)
        admin = client_of(boss)
        changelist = reverse("admin:automations_delegation_changelist")
        page = admin.get(changelist).content.decode()
        assert 'value="end_now"' in page and 'value="delete_selected"' not in page
        change = admin.get(reverse("admin:automations_delegation_change", args=[made.pk]))
        assert change.status_code == 200 and 'name="_save"' not in change.content.decode()  # view only
        posted = {"user": bob.pk, "substitute": ada.pk, "starts_0": "2020-01-01", "starts_1": "00:00:00"}
        edit = admin.post(reverse("admin:automations_delegation_change", args=[made.pk]), posted)
        delete = admin.post(reverse("admin:automations_delegation_delete", args=[made.pk]), {"post": "yes"})
        assert (edit.status_code, delete.status_code) == (403, 403)
        assert Delegation.objects.get().user == ada and AuditEntry.objects.count() == 1
        response = admin.post(changelist, {"action": "end_now", "_selected_action": [made.pk]}, follow=True)
        assert "1 delegation ended." in response.content.decode()
        row = Delegation.objects.get()
        assert (row.user, row.ends) == (ada, timezone.now())
    assert list(AuditEntry.objects.values_list("action", "username")) == [
        ("delegate", "ada"),
        ("end_delegation", "boss"),
    ]


@pytest.mark.django_db
def test_the_admin_lists_every_audit_entry_read_only(reviewer, ada, bob):
    boss = make_user("boss", superuser=True)
    task = open_task(ForReviewers())
    handover.claim(reviewer, task)
    with frozen_clock():
        handover.delegate(ada, bob, timezone.now() + timedelta(days=3), by=boss)
    claimed, delegated = AuditEntry.objects.order_by("pk")
    admin = client_of(boss)
    changelist = reverse("admin:automations_auditentry_changelist")
    html = unescape(admin.get(changelist).content.decode())
    assert claimed.describe() in html and delegated.describe() in html
    instance_link = reverse("admin:automations_automationmodel_change", args=[task.automation_id])
    assert f'<a href="{instance_link}">#{task.automation_id}</a>' in html
    assert '<td class="field-instance">—</td>' in html
    for query, shown in (("?action=delegate", delegated), ("?q=rita", claimed), ("?instance=no", delegated)):
        rows = admin.get(changelist + query).context["cl"].result_list
        assert list(rows) == [shown], query
    assert 'value="delete_selected"' not in html and reverse("admin:automations_auditentry_add") not in html
    assert admin.get(reverse("admin:automations_auditentry_add")).status_code == 403
    entry_page = admin.get(reverse("admin:automations_auditentry_change", args=[delegated.pk]))
    assert entry_page.status_code == 200 and 'name="_save"' not in entry_page.content.decode()
    delete = reverse("admin:automations_auditentry_delete", args=[delegated.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.count() == 2
    assert client_of(ada).get(changelist).status_code == 302  # not staff: to the admin's login


# -- the console -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_console_gives_back_and_hands_over_the_tasks_of_the_selected_instances(reviewer, ruth):
    operator = make_user(
        "olga", permissions=["automations.view_automationmodel", "automations.change_automationmodel"]
    )
    lead = make_user(
        "lea",
        permissions=[
            "automations.view_automationmodel",
            "automations.change_automationmodel",
            "automations.reassign_task",
        ],
    )
    first, second = ForReviewers(), ForReviewers()
    for automation in (first, second):
        handover.claim(reviewer, open_task(automation))
    ids = f"{first.id},{second.id}"
    instances = client_of(lead).get(reverse("automations:instances")).content.decode()
    assert reverse("automations:bulk_handover", args=["give-back"]) in instances

    url = reverse("automations:bulk_handover", args=["give-back"])
    page = client_of(lead).get(url, {"ids": ids})
    assert page.status_code == 200 and "Give their tasks back to the queue: 2 tasks" in page.content.decode()
    refused = unescape(client_of(operator).post(url, {"ids": ids}, follow=True).content.decode())
    assert "Only the task's holder or a manager" in refused  # the console's right is not the hand-over's
    done = client_of(lead).post(url, {"ids": ids}, follow=True).content.decode()
    assert "done for 2 tasks" in done
    assert not AutomationTaskModel.objects.filter(finished=None, interaction_user__isnull=False).exists()

    hand = reverse("automations:bulk_handover", args=["hand-over"])
    client_of(lead).post(hand, {"ids": ids, "username": "ruth"})
    assert set(
        AutomationTaskModel.objects.filter(finished=None).values_list("interaction_user", flat=True)
    ) == {ruth.pk}
    assert client_of(reviewer).get(url, {"ids": ids}).status_code == 403
    assert client_of(lead).get(reverse("automations:bulk_handover", args=["steal"])).status_code == 404
