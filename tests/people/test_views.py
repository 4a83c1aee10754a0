"""The views through the test client: what each shows, and who may use it (the safe-by-default matrix)."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import reverse

from automations import engine
from automations.models import AutomationModel, AutomationTaskModel
from tests.approvals.automations import ExpenseApproval
from tests.approvals.models import Expense
from tests.people.flows import (
    WHO_MAY_PROCESS,
    BrokenDashboard,
    Dashboarded,
    Exploding,
    ForAda,
    Templated,
    make_user,
    open_task,
)

pytestmark = pytest.mark.django_db

LOGIN = resolve_url(settings.LOGIN_URL)


def client_for(user, **kwargs):
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def task_url(task):
    return reverse("automations:task", args=[task.pk])


# -- task list ------------------------------------------------------------------------------------


def test_task_list_sends_anonymous_users_to_log_in():
    response = Client().get(reverse("automations:task_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=/automations/tasks/")


def test_task_list_shows_the_users_open_tasks_only(ada, bob, clock):
    mine = open_task(ForAda())
    clock.jump(hours=30)
    response = client_for(ada).get(reverse("automations:task_list"))
    assert response.status_code == 200
    assert [task.pk for task in response.context["tasks"]] == [mine.pk]
    html = response.content.decode()
    assert task_url(mine) in html
    assert "Only for Ada" in html  # the node's description
    assert "Automation ForAda" in html  # the automation's verbose name
    assert "waiting for 30 hours" in html and "atm-task-late" in html
    assert 'data-atm-socket="/ws/automations/tasks/"' in html
    assert "automations/tasks.js" in html

    other = client_for(bob).get(reverse("automations:task_list"))
    assert list(other.context["tasks"]) == []
    assert task_url(mine) not in other.content.decode()
    assert "You have no open tasks." in other.content.decode()


def test_task_list_uses_the_documented_templates(ada):
    ForAda()
    response = client_for(ada).get(reverse("automations:task_list"))
    names = [template.name for template in response.templates]
    for name in (
        "automations/task_list.html",
        "automations/base.html",
        "automations/includes/task_list.html",
        "automations/includes/task_item.html",
    ):
        assert name in names


# -- task view: who may open and submit ------------------------------------------------------------


@pytest.mark.parametrize("automation_class, allowed", WHO_MAY_PROCESS)
def test_task_view_matrix_on_get_and_post(automation_class, allowed, ada, bob, reviewer, approver, root):
    for user in (ada, bob, reviewer, approver, root):
        task = open_task(automation_class())
        client = client_for(user)
        expected = 200 if user.username in allowed else 404
        assert client.get(task_url(task)).status_code == expected, user
        response = client.post(task_url(task), {"approved": "on"})
        assert response.status_code == (302 if user.username in allowed else 404), user
        task.refresh_from_db()
        assert (task.finished is not None) == (user.username in allowed)
        if user.username in allowed:
            assert task.finished_by == user


def test_task_view_sends_anonymous_users_to_log_in_on_every_method(ada):
    task = open_task(ForAda())
    for method in ("get", "post"):
        response = getattr(Client(), method)(task_url(task))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
    assert AutomationTaskModel.objects.get(pk=task.pk).finished is None


def test_task_view_answers_404_for_tasks_that_are_not_open_form_tasks(ada, root, clock):
    from datetime import timedelta

    from automations import flow

    class Napping(flow.Automation):
        nap = flow.Execute(lambda task: None).AfterWaitingFor(timedelta(days=1))
        end = flow.End()

    napping = AutomationTaskModel.objects.get(automation_id=Napping().id, finished=None)
    finished = open_task(ForAda())
    engine.advance(finished.automation_id, submission=engine.Submission(finished.pk, {}, ada))
    stopped = open_task(ForAda())
    AutomationModel.objects.filter(pk=stopped.automation_id).update(error="stopped", status="failed")
    client = client_for(root)
    for url in (task_url(napping), task_url(finished), task_url(stopped), "/automations/tasks/999999/"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"approved": "on"}).status_code == 404, url


def test_a_finished_task_cannot_be_submitted_again(ada):
    automation = ForAda()
    task = open_task(automation)
    client = client_for(ada)
    assert client.post(task_url(task), {"comment": "first"}).status_code == 302
    assert client.post(task_url(task), {"comment": "second"}).status_code == 404
    task.refresh_from_db()
    assert task.result["comment"] == "first"


def test_csrf_is_enforced(ada):
    task = open_task(ForAda())
    client = client_for(ada, enforce_csrf_checks=True)
    assert client.post(task_url(task), {"approved": "on"}).status_code == 403
    assert AutomationTaskModel.objects.get(pk=task.pk).finished is None
    page = client.get(task_url(task))
    token = page.context["csrf_token"]
    assert client.post(task_url(task), {"approved": "on", "csrfmiddlewaretoken": token}).status_code == 302


# -- task view: the form -----------------------------------------------------------------------------


def test_get_shows_the_form_with_description_and_automation(ada):
    task = open_task(ForAda())
    response = client_for(ada).get(task_url(task))
    html = response.content.decode()
    assert 'name="approved"' in html and 'name="comment"' in html
    assert "Only for Ada" in html and "Automation ForAda" in html
    assert "csrfmiddlewaretoken" in html
    assert response.context["task"] == task
    assert response.context["automation"].id == task.automation_id
    assert "automations/form_view.html" in [t.name for t in response.templates]
    assert "automations/includes/form_view.html" in [t.name for t in response.templates]


def test_valid_post_continues_the_automation_and_redirects_to_the_task_list(ada):
    automation = ForAda()
    task = open_task(automation)
    response = client_for(ada).post(task_url(task), {"approved": "on", "comment": "fine"})
    assert response.status_code == 302
    assert response["Location"] == reverse("automations:task_list")
    assert automation.finished()
    task.refresh_from_db()
    assert task.result == {"approved": True, "comment": "fine"}


def test_invalid_post_shows_the_errors_and_keeps_the_task_open(ada, bob):
    automation = ExpenseApproval(requester="ada", approver="bob")
    task = open_task(automation)
    response = client_for(ada).post(task_url(task), {"title": "Lunch", "amount": "lots"})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert 'value="Lunch"' in response.content.decode()
    assert AutomationTaskModel.objects.get(pk=task.pk).finished is None
    assert not Expense.objects.exists()


def test_model_form_shows_and_saves_the_instance(ada, bob):
    expense = Expense.objects.create(title="Taxi", amount=Decimal("30.00"))
    automation = ExpenseApproval(requester="ada", approver="bob", expense=expense)
    task = open_task(automation)
    client = client_for(ada)
    assert 'value="Taxi"' in client.get(task_url(task)).content.decode()
    assert client.post(task_url(task), {"title": "Taxi home", "amount": "31.50"}).status_code == 302
    expense.refresh_from_db()
    assert (expense.title, expense.amount) == ("Taxi home", Decimal("31.50"))
    assert open_task(automation).status == "approve"


def test_model_form_whose_object_was_deleted_answers_404(ada, bob):
    expense = Expense.objects.create(title="Taxi", amount=Decimal("30.00"))
    task = open_task(ExpenseApproval(requester="ada", approver="bob", expense=expense))
    expense.delete()
    assert client_for(ada).get(task_url(task)).status_code == 404


def test_input_is_not_lost_when_the_task_closes_meanwhile(ada, monkeypatch):
    task = open_task(ForAda())
    real_advance = engine.advance

    def somebody_else_first(automation_id, **kwargs):
        real_advance(automation_id, submission=engine.Submission(task.pk, {"comment": "other"}, ada))
        return real_advance(automation_id, **kwargs)

    monkeypatch.setattr(engine, "advance", somebody_else_first)
    response = client_for(ada).post(task_url(task), {"comment": "my careful answer"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "my careful answer" in html
    assert "your input was not saved" in html
    task.refresh_from_db()
    assert task.result == {"comment": "other"}


def test_input_is_shown_back_when_saving_it_fails(ada, bob, monkeypatch):
    from tests.approvals.forms import ExpenseForm

    automation = ExpenseApproval(requester="ada", approver="bob")
    task = open_task(automation)

    def broken_save(self, commit=True):
        raise RuntimeError("database gone")

    monkeypatch.setattr(ExpenseForm, "save", broken_save)
    response = client_for(ada).post(task_url(task), {"title": "Hotel", "amount": "120"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'value="Hotel"' in html and "An error stopped this automation" in html
    assert "database gone" in AutomationModel.objects.get(pk=automation.id).error


@pytest.mark.parametrize(
    "next_url, expected",
    [
        ("/automations/dashboard/", "/automations/dashboard/"),
        ("http://testserver/automations/errors/", "http://testserver/automations/errors/"),
        ("http://evil.example/steal", "/automations/tasks/"),
        ("//evil.example/steal", "/automations/tasks/"),
        ("javascript:alert(1)", "/automations/tasks/"),
    ],
)
def test_redirects_only_to_safe_urls_of_the_same_host(ada, next_url, expected):
    task = open_task(ForAda())
    response = client_for(ada).post(task_url(task) + "?next=" + next_url.replace("/", "%2F"), {"comment": ""})
    assert response.status_code == 302
    assert response["Location"] == expected


def test_success_url_of_the_node_and_its_template_and_context(ada):
    task = open_task(Templated())
    client = client_for(ada)
    with override_settings(
        ATM_FORM_VIEW_CONTEXT={"site": "settings", "color": "settings", "shape": "settings"}
    ):
        page = client.get(task_url(task))
    assert page.templates[0].name == "approvals/custom_form.html"
    assert '<p id="layers">settings node automation</p>' in page.content.decode()
    response = client.post(task_url(task), {"comment": ""})
    assert response["Location"] == reverse("automations:dashboard")


# -- monitoring views ---------------------------------------------------------------------------------


@pytest.fixture
def watchers(db):
    view = Permission.objects.get(codename="view_automationmodel")
    staff_with = make_user("watcher", staff=True)
    staff_with.user_permissions.add(view)
    not_staff_with = make_user("outsider")
    not_staff_with.user_permissions.add(view)
    return {
        "anonymous": None,
        "user": make_user("plain"),
        "staff without permission": make_user("clerk", staff=True),
        "permission without staff": not_staff_with,
        "staff with permission": staff_with,
        "superuser": make_user("boss", superuser=True),
    }


def monitoring_urls():
    exploded = Exploding()
    failed = AutomationTaskModel.objects.get(automation_id=exploded.id, status="explode")
    return [
        reverse("automations:dashboard"),
        reverse("automations:errors"),
        reverse("automations:history", args=[exploded.id]),
        reverse("automations:traceback", args=[exploded.id, failed.pk]),
    ]


def test_monitoring_views_need_staff_with_permission(watchers):
    urls = monitoring_urls()
    expected = {
        "anonymous": 302,
        "user": 403,
        "staff without permission": 403,
        "permission without staff": 403,
        "staff with permission": 200,
        "superuser": 200,
    }
    for who, user in watchers.items():
        client = client_for(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == expected[who], (who, url)
            if who == "anonymous":
                assert response["Location"].startswith(LOGIN)


def test_dashboard_renders_each_automation_with_its_template_and_context(root):
    Dashboarded()
    Dashboarded()
    ForAda()  # no user "ada": stops with an error
    response = client_for(root).get(reverse("automations:dashboard"))
    html = response.content.decode()
    assert '<section class="custom-dashboard">Dashboarded: 2 seen, 2 finished</section>' in html
    assert "Automations ForAda" in html
    assert ">1 failed</a>" in html
    assert "automations/dashboard.html" in [t.name for t in response.templates]
    assert "automations/includes/dashboard.html" in [t.name for t in response.templates]
    assert "automations/includes/dashboard_item.html" in [t.name for t in response.templates]


def test_a_missing_dashboard_template_falls_back_to_the_default_item(root):
    BrokenDashboard()
    response = client_for(root).get(reverse("automations:dashboard"))
    assert response.status_code == 200
    assert "Broken dashboards" in response.content.decode()


def test_errors_view_lists_failed_tasks_and_stopped_instances(root):
    exploded = Exploding()
    failed = AutomationTaskModel.objects.get(automation_id=exploded.id, status="explode")
    response = client_for(root).get(reverse("automations:errors"))
    html = response.content.decode()
    assert list(response.context["failed_tasks"]) == [failed]
    assert [a.pk for a in response.context["stopped"]] == [exploded.id]
    assert reverse("automations:traceback", args=[exploded.id, failed.pk]) in html
    assert "<script>alert" not in html


def test_history_shows_every_step_parallel_paths_and_links_failures(root):
    exploded = Exploding()
    failed = AutomationTaskModel.objects.get(automation_id=exploded.id, status="explode")
    response = client_for(root).get(reverse("automations:history", args=[exploded.id]))
    rows = response.context["rows"]
    assert [row["task"].status for row in rows] == ["fork", "calm", "explode", "meet"]
    assert [row["depth"] for row in rows] == [0, 1, 1, 1]
    assert rows[1]["split"] == "fork"
    html = response.content.decode()
    assert "parallel path of fork" in html
    assert reverse("automations:traceback", args=[exploded.id, failed.pk]) in html


def test_history_of_an_unknown_instance_is_404(root):
    assert client_for(root).get(reverse("automations:history", args=[999999])).status_code == 404


def test_traceback_is_escaped_and_holds_no_local_values(root):
    exploded = Exploding()
    failed = AutomationTaskModel.objects.get(automation_id=exploded.id, status="explode")
    response = client_for(root).get(reverse("automations:traceback", args=[exploded.id, failed.pk]))
    html = response.content.decode()
    assert "ValueError" in html and "blow_up" in html
    assert "&lt;script&gt;alert" in html
    assert "<script>alert" not in html
    assert "secret-local-value" not in html


def test_traceback_only_for_failed_tasks_of_that_instance(root):
    exploded = Exploding()
    calm = AutomationTaskModel.objects.get(automation_id=exploded.id, status="calm")
    failed = AutomationTaskModel.objects.get(automation_id=exploded.id, status="explode")
    other = Exploding()
    client = client_for(root)
    assert client.get(reverse("automations:traceback", args=[exploded.id, calm.pk])).status_code == 404
    assert client.get(reverse("automations:traceback", args=[other.id, failed.pk])).status_code == 404


def test_urls_are_named_in_the_automations_namespace():
    assert reverse("automations:task_list") == "/automations/tasks/"
    assert reverse("automations:task", args=[3]) == "/automations/tasks/3/"
    assert reverse("automations:dashboard") == "/automations/dashboard/"
    assert reverse("automations:errors") == "/automations/errors/"
    assert reverse("automations:history", args=[4]) == "/automations/4/history/"
    assert reverse("automations:traceback", args=[4, 5]) == "/automations/4/traceback/5/"
