"""The demo site: its users, its automations and its pages."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from automations.models import AutomationModel, AutomationTaskModel
from demo.automations import AutomationReport, ExpenseApproval, TrialJourney
from demo.models import Notification, ReportSnapshot

pytestmark = pytest.mark.django_db


def load_demo(*args):
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def subjects(user):
    return list(Notification.objects.filter(recipient=user).order_by("pk").values_list("subject", flat=True))


def task_messages(instance):
    tasks = AutomationTaskModel.objects.filter(automation_id=instance.id).order_by("pk")
    return [(task.status, task.message) for task in tasks]


@pytest.fixture
def alice():
    return User.objects.create_user("alice", password="alice")


@pytest.fixture
def manager():
    user = User.objects.create_user("manager", password="manager")
    user.groups.add(Group.objects.create(name="Managers"))
    return user


# -- load_demo ------------------------------------------------------------------------------------


def test_load_demo_refuses_known_passwords_without_debug():
    with pytest.raises(CommandError, match="--insecure-demo-users"):
        load_demo()
    assert not User.objects.exists()
    assert not AutomationModel.objects.exists()


def test_load_demo_runs_with_debug_or_when_told_to():
    with override_settings(DEBUG=True):
        load_demo()
    assert User.objects.get(username="admin").check_password("admin")
    User.objects.all().delete()
    load_demo("--insecure-demo-users")
    assert User.objects.get(username="admin").is_superuser


@override_settings(DEBUG=True)
def test_load_demo_creates_users_prints_logins_and_starts_instances():
    out = load_demo()
    manager = User.objects.get(username="manager")

    admin, alice = (User.objects.get(username=name) for name in ("admin", "alice"))
    assert admin.is_superuser and admin.is_staff and admin.check_password("admin")
    assert sorted(manager.groups.values_list("name", flat=True)) == ["Employees", "Managers"]
    assert manager.check_password("manager") and not manager.is_staff
    assert alice.check_password("alice")
    assert sorted(alice.groups.values_list("name", flat=True)) == ["Customers", "Employees"]
    for login in ("admin / admin", "manager / manager", "alice / alice"):
        assert login in out
    classes = sorted(AutomationModel.objects.values_list("automation_class", flat=True))
    assert classes == sorted(
        cls.get_automation_class_name() for cls in (AutomationReport, ExpenseApproval, TrialJourney)
    )
    assert subjects(manager) == ["alice claims 120.00 EUR for Team lunch with a customer"]


@override_settings(DEBUG=True)
def test_load_demo_twice_changes_nothing():
    load_demo()
    before = (User.objects.count(), AutomationModel.objects.count(), AutomationTaskModel.objects.count())
    manager = User.objects.get(username="manager")
    manager.set_password("changed")
    manager.save()

    out = load_demo()

    after = (User.objects.count(), AutomationModel.objects.count(), AutomationTaskModel.objects.count())
    assert after == before
    assert "Created user" not in out
    assert User.objects.get(username="manager").check_password("changed")


# -- the expense approval ---------------------------------------------------------------------------


def open_task(instance):
    return AutomationTaskModel.objects.get(automation_id=instance.id, finished=None)


def test_small_expenses_are_approved_at_once(alice, manager):
    claim = ExpenseApproval(requester=alice, amount="20.00", purpose="Taxi")

    assert claim.finished()
    assert subjects(alice) == ["Approved: 20.00 EUR for Taxi"]
    assert subjects(manager) == []
    assert task_messages(claim)[:2] == [("submitted", "skipped"), ("approval", "skipped")]


def test_a_manager_approves_a_claim_in_the_task_form(client, alice, manager):
    claim = ExpenseApproval(requester=alice, amount="120.00", purpose="Team lunch")
    assert subjects(manager) == ["alice claims 120.00 EUR for Team lunch"]
    task = open_task(claim)
    assert (task.status, task.interaction_group.name) == ("approval", "Managers")

    client.force_login(manager)
    url = reverse("automations:task", args=[task.pk])
    page = client.get(url).content.decode()
    assert "120.00 EUR" in page and "Team lunch" in page
    client.post(url, {"decision": "approve", "comment": "Enjoy!"})

    assert claim.finished()
    note = Notification.objects.filter(recipient=alice).get()
    assert (note.subject, note.body) == ("Approved: 120.00 EUR for Team lunch", "Enjoy!")


def test_a_manager_rejects_a_claim(client, alice, manager):
    claim = ExpenseApproval(requester=alice, amount="900.00", purpose="First class flight")

    client.force_login(manager)
    client.post(
        reverse("automations:task", args=[open_task(claim).pk]), {"decision": "reject", "comment": ""}
    )

    assert claim.finished()
    assert subjects(alice) == ["Rejected: 900.00 EUR for First class flight"]


def test_claiming_an_expense_on_the_home_page(client, alice, manager):
    client.force_login(alice)

    response = client.post(reverse("demo_start_expense"), {"amount": "-5", "purpose": "Refund"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not AutomationModel.objects.exists()

    response = client.post(reverse("demo_start_expense"), {"amount": "75.50", "purpose": "Books"})
    assert response.status_code == 302
    claim = ExpenseApproval(automation=AutomationModel.objects.get())
    assert claim.data == {"requester": alice.pk, "amount": "75.50", "purpose": "Books"}
    assert "Expense approval" in client.get("/").content.decode()


# -- the trial journey ----------------------------------------------------------------------------


def test_journey_reminds_after_the_delay_and_ends_with_the_trial(clock, alice):
    journey = TrialJourney(customer=alice)
    assert subjects(alice) == ["Welcome to your free trial!"]

    clock.advance(seconds=4)
    assert subjects(alice) == ["Welcome to your free trial!"]

    clock.advance(seconds=2)
    assert subjects(alice)[-1] == "Have you seen our plans?"

    clock.advance(seconds=TrialJourney.TRIAL_SECONDS)
    assert journey.finished()
    assert subjects(alice)[-1] == "Your trial has ended"
    assert task_messages(journey) == [
        ("welcome", "OK"),
        ("reminder", "OK"),
        ("purchase", "skipped"),
        ("outcome", "no"),  # the decision says which way it went
        ("end", "OK"),
    ]


def test_viewing_the_pricing_page_skips_the_reminder_at_once(clock, alice):
    journey = TrialJourney(customer=alice)

    TrialJourney.dispatch_message(journey.get_key(), "page_viewed", "pricing", {})

    assert task_messages(journey)[:2] == [("welcome", "OK"), ("reminder", "skipped")]
    assert subjects(alice) == ["Welcome to your free trial!"]


def test_buying_moves_the_journey_to_its_end_at_once(clock, alice):
    journey = TrialJourney(customer=alice, reminder_seconds=60)

    assert TrialJourney.dispatch_message(journey.id, "converted", "web", {"plan": "team"}) is None

    assert journey.finished()
    assert subjects(alice) == ["Welcome to your free trial!", "Thank you for buying the team plan!"]
    assert [status for status, message in task_messages(journey) if message == "skipped"] == ["reminder"]


def test_converted_without_a_plan_is_not_delivered(clock, alice):
    journey = TrialJourney(customer=alice)

    assert not TrialJourney.satisfies_data_requirements("converted", {})
    journey.send_message("converted", "web", {})

    assert not journey.finished()
    assert "plan" not in journey.data


def test_one_journey_per_customer(alice):
    first = TrialJourney(customer=alice)
    assert TrialJourney(customer=alice).id == first.id
    assert TrialJourney(customer=User.objects.create_user("bob")).id != first.id


# -- the recurring report -------------------------------------------------------------------------


def test_report_writes_a_row_every_minute(clock, alice):
    TrialJourney(customer=alice)
    report = AutomationReport()
    assert AutomationReport().id == report.id
    first = ReportSnapshot.objects.get()
    assert (first.running, first.finished, first.stopped, first.open_tasks) == (2, 0, 0, 1)

    clock.advance(seconds=59)
    assert ReportSnapshot.objects.count() == 1

    clock.advance(minutes=1, seconds=1)
    assert ReportSnapshot.objects.count() == 3
    assert not report.finished()


def test_report_keeps_a_day_of_rows(clock):
    AutomationReport()
    clock.jump(days=1, minutes=1)
    AutomationModel.run()
    assert ReportSnapshot.objects.count() == 1


# -- pages ----------------------------------------------------------------------------------------


def test_home_page_for_visitors_shows_the_automations_and_the_logins(client):
    page = client.get("/").content.decode()
    assert "Trial journey" in page and "Automation report" in page
    assert "alice</code>/<code>alice" in page
    assert "Your automations" not in page


def test_home_page_starts_and_shows_the_users_journey(client, alice):
    client.force_login(alice)

    response = client.post(reverse("demo_start_trial"))
    assert response.status_code == 302
    journey = TrialJourney(automation=AutomationModel.objects.get())
    page = client.get("/").content.decode()
    assert "waiting for time (until " in page and "), at reminder" in page
    assert "Welcome to your free trial!" in page
    assert f"?key={journey.get_key()}" in page
    assert "/automations/tasks/" in page

    client.post(reverse("demo_start_trial"))
    assert AutomationModel.objects.count() == 1


def test_pricing_page_and_buying_move_the_journey(client, alice):
    journey = TrialJourney(customer=alice)

    response = client.get(reverse("demo_pricing"), {"key": journey.get_key()})
    assert response.status_code == 200
    assert ("reminder", "skipped") in task_messages(journey)

    response = client.post(reverse("demo_buy"), {"key": journey.get_key(), "plan": "starter"})
    assert response.status_code == 302
    assert journey.finished()


def test_pricing_page_needs_a_journeys_key(client, alice):
    assert client.get(reverse("demo_pricing")).status_code == 404
    assert client.get(reverse("demo_pricing"), {"key": "guess"}).status_code == 404
    report = AutomationReport()
    assert client.get(reverse("demo_pricing"), {"key": report.get_key()}).status_code == 404
    journey = TrialJourney(customer=alice)
    for guess in (str(journey.id), "\x00", "²", "k" * 5000):  # ids and malformed keys: 404, never 500
        assert client.get(reverse("demo_pricing"), {"key": guess}).status_code == 404
    assert client.post(reverse("demo_buy"), {"key": journey.get_key(), "plan": "gold"}).status_code == 400
    assert not journey.finished()


def test_starting_needs_a_login(client):
    for name in ("demo_start_expense", "demo_start_trial", "demo_start_report", "demo_run_due"):
        response = client.post(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not AutomationModel.objects.exists()


def test_run_due_button_advances_due_instances(client, clock, alice):
    client.force_login(alice)
    TrialJourney(customer=alice)
    clock.jump(seconds=10)

    response = client.post(reverse("demo_run_due"), follow=True)

    assert "Advanced 1 instance(s)" in response.content.decode()
    assert subjects(alice)[-1] == "Have you seen our plans?"


def test_start_report_button(client, alice):
    client.force_login(alice)
    client.post(reverse("demo_start_report"))
    client.post(reverse("demo_start_report"))
    assert AutomationModel.objects.get().automation_class == AutomationReport.get_automation_class_name()
    assert "running" in client.get("/").content.decode()


def test_demo_users_log_in_on_the_demos_login_page(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "alice", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Your automations" in client.get("/").content.decode()
    client.post(reverse("logout"))
    assert "Your automations" not in client.get("/").content.decode()


def test_post_only_addresses_answer_a_get_with_the_start_page(client, alice):
    client.force_login(alice)
    for name in (
        "demo_start_expense",
        "demo_start_trial",
        "demo_start_report",
        "demo_start_invoice",
        "demo_run_due",
    ):
        response = client.get(reverse(name), follow=True)
        assert response.redirect_chain == [(reverse("demo_home"), 302)], name
        assert "only takes a button press" in response.content.decode()
    assert not AutomationModel.objects.exists()


def test_logout_by_get_shows_a_button_and_the_login_page_does_not_link_to_itself(client, alice):
    client.force_login(alice)
    page = client.get(reverse("logout"))
    assert page.status_code == 200 and 'action="/accounts/logout/"' in page.content.decode()
    client.post(reverse("logout"))
    login_page = client.get(reverse("login")).content.decode()
    assert "?next=/accounts/login/" not in login_page


def test_the_invoice_sync_fails_now_and_then_and_can_be_retried(client, alice, monkeypatch):
    from automations import instance_actions
    from demo.automations import InvoiceSync

    client.force_login(alice)
    monkeypatch.setattr("demo.automations.random.random", lambda: 0.0)  # the partner service is down
    client.post(reverse("demo_start_invoice"))
    sync = AutomationModel.objects.get(automation_class=InvoiceSync.get_automation_class_name())
    assert "partner service did not answer" in sync.error
    monkeypatch.setattr("demo.automations.random.random", lambda: 0.99)  # and back
    instance_actions.perform(sync, "retry", alice)
    sync.refresh_from_db()
    assert sync.finished and sync.data["invoice"] == f"INV-{sync.pk:05d}"


def test_unknown_pages_show_the_404_page_in_the_layout(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "automations/404.html" in [t.name for t in response.templates]


def test_a_german_browser_gets_the_demo_and_the_workflow_pages_in_german(alice):
    from django.test import Client

    client = Client(headers={"accept-language": "de"})
    client.force_login(alice)
    home = client.get("/").content.decode()
    tasks = client.get(reverse("automations:task_list")).content.decode()
    assert "Demo-Automationen" in home and "Meine Aufgaben" in home and "Abmelden" in home
    assert "Spesenfreigabe" in home and "Betrag (EUR)" in home
    assert "Demo automations" not in home and "Log out" not in home
    assert "Meine Aufgaben" in tasks and "Sie haben keine offenen Aufgaben." in tasks


@override_settings(DEBUG=True)
def test_the_demo_users_start_claims_and_trials_from_the_start_menu(client):
    load_demo()
    alice, manager = (User.objects.get(username=name) for name in ("alice", "manager"))
    client.force_login(manager)
    assert [entry.automation_class for entry in client.get("/automations/start/").context["entries"]] == [
        ExpenseApproval
    ]
    client.force_login(alice)
    entries = client.get("/automations/start/").context["entries"]
    assert [entry.automation_class for entry in entries] == [ExpenseApproval, TrialJourney]

    response = client.post(entries[0].url, {"amount": "20.00", "purpose": "Taxi"})
    claim = AutomationModel.objects.filter(
        automation_class=ExpenseApproval.get_automation_class_name()
    ).latest("pk")
    assert claim.data == {"amount": "20.00", "purpose": "Taxi", "requester": alice.pk}
    assert response["Location"] == reverse("automations:task_list")
    assert claim.status == AutomationModel.Status.FINISHED  # a small amount: approved at once
    assert (
        f"Expense approval #{claim.pk} was started and has finished already."
        in client.get(response["Location"]).content.decode()
    )

    response = client.post(entries[1].url)  # load_demo started her trial already
    assert response.status_code == 409
    assert "with these details is running already" in response.content.decode()
