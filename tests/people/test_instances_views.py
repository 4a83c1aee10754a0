"""The instances list, the instance page and the actions on it: who may, what they do, what they record."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from automations import flow, instance_actions
from automations import settings as atm_settings
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel, Status
from tests.approvals.forms import ApprovalForm
from tests.people.flows import make_user

LOGIN = resolve_url(settings.LOGIN_URL)
pytestmark = pytest.mark.django_db


class Flaky(flow.Automation):
    """Fails at ``charge`` until its data says the card works; receives ``card``."""

    class Meta:
        verbose_name = "Flaky payment"

    prepare = flow.Execute("self.note")
    charge = flow.Execute("self.charge_card")
    end = flow.End()

    def note(self, task):
        self.data["noted"] = True

    def charge_card(self, task):
        if not self.data.get("card_works"):
            raise ConnectionError("card service unreachable")
        return {"charged": self.data.get("amount")}

    def receive_card(self, token, data):
        self.data["card_works"] = data.get("works", False)


class Waiting(flow.Automation):
    """Waits for a person."""

    ask = flow.Form(ApprovalForm, description="Say yes").User(username="ada")
    end = flow.End()

    def receive_nudge(self, token, data):
        self.data["nudged"] = token


def client_for(user, **kwargs):
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def permission(codename):
    return Permission.objects.get(content_type__app_label="automations", codename=codename)


@pytest.fixture
def people(db):
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(permission("view_automationmodel"))
    changer = make_user("changer", staff=True)
    changer.user_permissions.add(permission("view_automationmodel"), permission("change_automationmodel"))
    not_staff = make_user("outsider")
    not_staff.user_permissions.add(permission("view_automationmodel"), permission("change_automationmodel"))
    return {
        "anonymous": None,
        "other user": make_user("plain"),
        "staff without permission": make_user("clerk", staff=True),
        "permissions without staff": make_user_fresh(not_staff),
        "viewer": make_user_fresh(viewer),
        "changer": make_user_fresh(changer),
        "superuser": make_user("boss", superuser=True),
    }


def make_user_fresh(user):
    return type(user).objects.get(pk=user.pk)


def test_instance_pages_need_the_view_permission(people):
    failed = Flaky(amount=12)
    pages = [reverse("automations:instances"), reverse("automations:instance", args=[failed.id])]
    allowed = {"viewer", "changer", "superuser", "permissions without staff"}
    for who, user in people.items():
        for url in pages:
            response = client_for(user).get(url)
            if who == "anonymous":
                assert response.status_code == 302 and response["Location"].startswith(LOGIN), url
            else:
                assert response.status_code == (200 if who in allowed else 403), (who, url)
    forbidden = client_for(people["other user"]).get(pages[0])
    assert "automations/403.html" in [t.name for t in forbidden.templates]
    assert "Go to my tasks" in forbidden.content.decode()


@pytest.mark.parametrize("action", ["wake", "retry", "cancel", "message"])
def test_actions_need_the_change_permission(people, action):
    instance = Flaky(amount=12)  # stopped by an error at charge
    if action in ("wake", "message"):
        AutomationModel.objects.filter(pk=instance.id).update(error="", status="waiting_for_message")
    url = reverse("automations:instance_action", args=[instance.id, action])
    allowed = {"changer", "superuser", "permissions without staff"}
    before = AutomationTaskModel.objects.filter(automation_id=instance.id).count()
    for who, user in people.items():
        if who in allowed:
            continue
        for method in ("get", "post"):
            given = {"message": "card", "data": "{}", "reason": "x"}
            response = getattr(client_for(user), method)(url, given)
            expected = 302 if who == "anonymous" else 403
            assert response.status_code == expected, (who, method)
    assert AutomationTaskModel.objects.filter(automation_id=instance.id).count() == before
    assert client_for(people["changer"]).get(url).status_code == 200


def test_the_list_filters_by_state_and_class_and_searches_data(people):
    failed = Flaky(amount=12)
    waiting = Waiting()
    make_user("ada")
    waiting_for_ada = Waiting()
    client = client_for(people["viewer"])
    url = reverse("automations:instances")

    def shown(**params):
        html = client.get(url, params).content.decode()
        return {
            pk for pk in (failed.id, waiting.id, waiting_for_ada.id) if f'data-atm-instance="{pk}"' in html
        }

    assert shown() == {failed.id, waiting.id, waiting_for_ada.id}
    assert shown(state="error") == {failed.id, waiting.id}  # no ada yet: the first Waiting stopped
    assert shown(state="person") == {waiting_for_ada.id}
    assert shown(state="finished") == set()
    assert shown(automation=Flaky.get_automation_class_name()) == {failed.id}
    assert shown(q='"noted": true') == {failed.id}
    assert shown(q=f"#{waiting.id}") == {waiting.id}
    assert shown(state="bogus") == shown()


def test_the_instance_page_shows_data_position_history_and_errors(people):
    failed = Flaky(amount=12)
    response = client_for(people["changer"]).get(reverse("automations:instance", args=[failed.id]))
    html = response.content.decode()
    assert "&quot;amount&quot;: 12" in html  # readable JSON
    assert "card service unreachable" in html
    traceback_task = AutomationTaskModel.objects.get(automation_id=failed.id, status="charge")
    assert reverse("automations:traceback", args=[failed.id, traceback_task.pk]) in html
    assert "{% block diagram %}" not in html
    assert reverse("automations:instance_action", args=[failed.id, "retry"]) in html
    assert reverse("automations:instance_action", args=[failed.id, "wake"]) not in html
    viewer_html = client_for(people["viewer"]).get(reverse("automations:instance", args=[failed.id])).content
    assert b"/retry/" not in viewer_html  # no actions without the change permission


def audit_lines(instance_id):
    """Return the audit entries of the instance, oldest first, as ``{"audit": action, "user", **details}``."""
    return [
        {"audit": entry.action, "user": entry.username, **entry.details}
        for entry in AuditEntry.objects.filter(automation_id=instance_id)
    ]


def test_retry_goes_on_from_the_failed_node_and_is_audited(people):
    failed = Flaky(amount=12)
    AutomationModel.objects.filter(pk=failed.id).update(data={"amount": 12, "card_works": True})
    client = client_for(people["changer"], enforce_csrf_checks=True)
    url = reverse("automations:instance_action", args=[failed.id, "retry"])
    page = client.get(url)
    assert "Yes, do it" in page.content.decode()
    assert client.post(url).status_code == 403  # CSRF
    response = client.post(url, {"csrfmiddlewaretoken": page.context["csrf_token"]})
    assert response.status_code == 302 and response["Location"] == reverse(
        "automations:instance", args=[failed.id]
    )
    model = AutomationModel.objects.get(pk=failed.id)
    assert model.finished and model.error == ""
    assert audit_lines(failed.id) == [{"audit": "retry", "user": "changer", "node": "charge"}]
    charged = (
        AutomationTaskModel.objects.filter(automation_id=failed.id, status="charge").order_by("-pk").first()
    )
    assert charged.result == {"charged": 12}


def test_cancel_needs_a_reason_closes_open_tasks_keeps_history_and_cannot_be_retried(people):
    make_user("ada")
    waiting = Waiting()
    client = client_for(people["changer"])
    url = reverse("automations:instance_action", args=[waiting.id, "cancel"])
    refused = client.post(url, {"reason": "   "})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    assert AutomationModel.objects.get(pk=waiting.id).status == Status.WAITING_FOR_PERSON
    client.post(url, {"reason": "The customer  withdrew."})
    model = AutomationModel.objects.get(pk=waiting.id)
    assert (model.status, model.error, model.finished, model.wake_at) == (Status.CANCELLED, "", False, None)
    assert not AutomationTaskModel.objects.filter(automation_id=waiting.id, finished=None).exists()
    assert [line["audit"] for line in audit_lines(waiting.id)] == ["cancel"]
    assert AuditEntry.objects.get(automation_id=waiting.id).reason == "The customer withdrew."
    assert instance_actions.available(model) == []
    response = client.post(reverse("automations:instance_action", args=[waiting.id, "retry"]), follow=True)
    assert "does not apply" in response.content.decode()
    assert [line["audit"] for line in audit_lines(waiting.id)] == ["cancel"]
    page = client.get(reverse("automations:instance", args=[waiting.id])).content.decode()
    assert "Cancelled by changer: The customer withdrew." in page and "atm-state-cancelled" in page
    errors = client_for(people["superuser"]).get(reverse("automations:errors")).content.decode()
    assert f"#{waiting.id}<" not in errors  # a cancelled instance is not an error


def test_wake_and_send_message_are_audited(people):
    make_user("ada")
    waiting = Waiting()
    client = client_for(people["changer"])
    client.post(reverse("automations:instance_action", args=[waiting.id, "wake"]))
    url = reverse("automations:instance_action", args=[waiting.id, "message"])
    bad = client.post(url, {"message": "nudge", "token": "t1", "data": "[1, 2"})
    assert bad.status_code == 200 and "not valid JSON" in bad.content.decode()
    client.post(url, {"message": "nudge", "token": "t1", "data": '{"why": "late"}'})
    assert AutomationModel.objects.get(pk=waiting.id).data["nudged"] == "t1"
    lines = audit_lines(waiting.id)
    assert [line["audit"] for line in lines] == ["wake", "message"]
    assert lines[1]["data"] == {"why": "late"} and lines[1]["message"] == "nudge"
    history = client.get(reverse("automations:instance", args=[waiting.id])).content.decode()
    assert "Message nudge sent by changer." in history


def test_unknown_actions_and_instances_get_the_404_page(people):
    client = client_for(people["changer"])
    flaky = Flaky(amount=1)
    for url in (
        reverse("automations:instance_action", args=[flaky.id, "explode"]),
        reverse("automations:instance_action", args=[999999, "wake"]),
        reverse("automations:instance", args=[999999]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "automations/404.html" in [t.name for t in response.templates]


def test_admin_lists_instances_and_runs_the_shared_actions(people):
    failed = Flaky(amount=12)
    AutomationModel.objects.filter(pk=failed.id).update(data={"amount": 12, "card_works": True})
    boss = client_for(people["superuser"])
    listing = boss.get(
        reverse("admin:automations_automationmodel_changelist"), {"state": "failed", "q": "amount"}
    )
    assert listing.status_code == 200 and f">{failed.id}<" in listing.content.decode()
    change = boss.get(reverse("admin:automations_automationmodel_change", args=[failed.id])).content.decode()
    assert "&quot;card_works&quot;: true" in change and "charge" in change  # readable data, tasks inline
    changelist = reverse("admin:automations_automationmodel_changelist")
    boss.post(changelist, {"action": "retry_failed", "_selected_action": [failed.id]})
    assert AutomationModel.objects.get(pk=failed.id).finished
    assert [line["audit"] for line in audit_lines(failed.id)] == ["retry"]
    redirect = boss.post(changelist, {"action": "send_message", "_selected_action": [failed.id]})
    assert redirect["Location"] == reverse("automations:instance_action", args=[failed.id, "message"])
    assert boss.get(reverse("admin:automations_automationtaskmodel_changelist")).status_code == 200


def test_the_inputs_of_the_admins_task_rows_are_named_for_their_task(people):
    failed = Flaky(amount=12)
    boss = client_for(people["superuser"])
    change = boss.get(reverse("admin:automations_automationmodel_change", args=[failed.id])).content.decode()
    for node in ("prepare", "charge"):
        assert f'aria-label="Assigned user of {node}"' in change
        assert f'aria-label="Assigned group of {node}"' in change


def test_admin_actions_need_the_change_permission(people):
    failed = Flaky(amount=12)
    viewer = client_for(people["viewer"])
    changelist = reverse("admin:automations_automationmodel_changelist")
    page = viewer.get(changelist)
    assert page.status_code == 200 and "retry_failed" not in page.content.decode()
    viewer.post(changelist, {"action": "retry_failed", "_selected_action": [failed.id]})
    assert audit_lines(failed.id) == [] and AutomationModel.objects.get(pk=failed.id).error
    clerk = client_for(people["staff without permission"])
    assert clerk.get(changelist).status_code == 403


def test_a_closed_task_says_who_completed_it_only_to_those_who_could_have(people):
    from automations import engine

    ada = make_user("ada")
    other = people["other user"]
    waiting = Waiting()
    task = AutomationTaskModel.objects.get(automation_id=waiting.id, finished=None)
    engine.advance(waiting.id, submission=engine.Submission(task.pk, {"approved": True}, ada))
    url = reverse("automations:task", args=[task.pk])
    page = client_for(ada).get(url)
    assert page.status_code == 404 and "automations/task_closed.html" in [t.name for t in page.templates]
    assert "ada completed this task on " in page.content.decode()
    stale = client_for(ada).post(url, {"comment": "my second thoughts"})
    assert (
        "my second thoughts" in stale.content.decode()
        and "Your input was not saved" in stale.content.decode()
    )
    for user in (other, people["staff without permission"]):
        hidden = client_for(user).get(url)
        assert hidden.status_code == 404 and "completed this task" not in hidden.content.decode()
        assert "automations/404.html" in [t.name for t in hidden.templates]
    assert client_for(None).get(url).status_code == 302


def test_a_decision_is_confirmed_with_a_message(people):
    ada = make_user("ada")
    waiting = Waiting()
    task = AutomationTaskModel.objects.get(automation_id=waiting.id, finished=None)
    response = client_for(ada).post(
        reverse("automations:task", args=[task.pk]), {"approved": "on"}, follow=True
    )
    assert f"#{waiting.id}: your input was saved." in response.content.decode()


def test_the_inbox_sorts_and_pages_each_section_on_its_own(people):
    from automations.tasklist import inbox as task_inbox

    ada = make_user("ada")
    for _ in range(atm_settings.get("ATM_TASK_PAGE_SIZE") + 3):
        Waiting()
    tasks = list(
        AutomationTaskModel.objects.filter(finished=None).select_related("automation").order_by("pk")
    )
    inbox = task_inbox.build_inbox(tasks, ada, {"sort": "newest", "mine_page": "2", "queue_page": "7"})
    assert inbox.mine.paginator.count == len(tasks) and inbox.queue.paginator.count == 0
    assert [task.pk for task in inbox.mine] == [task.pk for task in tasks[:3]][::-1]  # newest first, page 2
    assert inbox.mine.previous_query == "?sort=newest" and inbox.mine.next_query == ""
    assert inbox.socket_query == "?sort=newest&mine_page=2"  # the empty queue's page 7 is page 1
    assert task_inbox.build_inbox(tasks, ada, {"sort": "bogus"}).sort == "deadline"  # the default
    html = client_for(ada).get(reverse("automations:task_list"), {"mine_page": "2"}).content.decode()
    assert 'data-atm-socket="/ws/automations/tasks/?mine_page=2"' in html and "Page 2 of 2" in html
    assert 'href="?"' in html  # back to page 1
