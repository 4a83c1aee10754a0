"""The start menu: who sees which class, who may start it, and what a start creates."""

from datetime import date

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from automations import flow, registry
from automations.models import AutomationModel, AutomationTaskModel
from automations.starting import may_start
from tests.people.flows import make_user

pytestmark = pytest.mark.django_db

LOGIN = resolve_url(settings.LOGIN_URL)
MENU = "/automations/start/"


class ClaimForm(forms.Form):
    amount = forms.DecimalField(max_digits=9, decimal_places=2)
    purpose = forms.CharField(max_length=100)
    day = forms.DateField()
    approver = forms.ModelChoiceField(queryset=User.objects.all(), to_field_name="username")
    notes = forms.CharField(required=False)  # no max_length: the JSON limit applies


class ReviewForm(forms.Form):
    ok = forms.BooleanField(required=False)


class Claim(flow.Automation):
    """File an expense claim for your approver.

    Everything below the first line stays out of the menu.
    """

    approver = User

    class Meta:
        verbose_name = "Claim"
        start_form = ClaimForm
        start_groups = ["Claimants", "Auditors"]
        start_user_key = "claimant"

    review = flow.Form(ReviewForm).User(pk=lambda task: task.data["approver"])
    end = flow.End()


class NoteForm(forms.Form):
    note = forms.CharField(max_length=100)


class Confirmation(flow.Automation):
    """Not shown: Meta.description wins."""

    class Meta:
        verbose_name = "Confirmation"
        description = "Write a note, then confirm it."
        start_form = NoteForm
        start_permissions = ["approvals.approve_expense"]
        start_user_key = "starter"

    confirm = flow.Form(ReviewForm, description="Confirm your note").User(
        pk=lambda task: task.data["starter"]
    )
    end = flow.End()


class TopicForm(forms.Form):
    topic = forms.CharField(max_length=50)


class Discussion(flow.Automation):
    unique = ("topic",)

    class Meta:
        verbose_name = "Discussion"
        start_form = TopicForm
        start_permissions = ["approvals.approve_expense"]

    moderate = flow.Form(ReviewForm).Permission("approvals.approve_expense")
    end = flow.End()


class Internal(flow.Automation):
    """No start form: never in the menu."""

    work = flow.Execute(lambda task: None)


def start_url(cls):
    return reverse("automations:start", args=[cls.get_automation_class_name()])


def client_for(user, **kwargs):
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def instances_of(cls):
    return AutomationModel.objects.filter(automation_class=cls.get_automation_class_name())


def claim_input(**changes):
    return {"amount": "12.50", "purpose": "Train", "day": "2024-05-01", "approver": "bob", **changes}


@pytest.fixture
def carl(db):
    return make_user("carl", groups=["Claimants"])


@pytest.fixture
def vera(db):
    """An auditor who may see instances."""
    user = make_user("vera", groups=["Auditors"])
    user.user_permissions.add(Permission.objects.get(codename="view_automationmodel"))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def open_class():
    """A class without start_permissions or start_groups, registered for one test."""

    class OpenToAll(flow.Automation):
        class Meta:
            abstract = True  # registered by hand below, and forgotten afterwards
            start_form = TopicForm

        end = flow.End()

    OpenToAll.Meta.abstract = False
    registry.register(OpenToAll)
    yield OpenToAll
    registry._automations.pop(registry.class_path(OpenToAll), None)


# -- who sees which class -------------------------------------------------------------------------


def menu_entries(user):
    response = client_for(user).get(MENU)
    assert response.status_code == 200
    return {entry.automation_class: entry for entry in response.context["entries"]}


def test_the_menu_lists_the_classes_each_user_may_start(carl, vera, approver, ada, root):
    assert list(menu_entries(carl)) == [Claim]
    assert list(menu_entries(vera)) == [Claim]  # a member of one of the groups
    assert list(menu_entries(approver)) == [Confirmation, Discussion]  # sorted by verbose name
    assert menu_entries(ada) == {}
    assert {Claim, Confirmation, Discussion} <= set(menu_entries(root))
    assert Internal not in menu_entries(root)


def test_the_menu_shows_verbose_names_and_descriptions(carl, approver):
    html = client_for(carl).get(MENU).content.decode()
    assert "<h1>Start an automation</h1>" in html
    assert "File an expense claim for your approver." in html and "stays out" not in html
    assert f'href="{start_url(Claim)}"' in html
    entries = menu_entries(approver)
    assert entries[Confirmation].description == "Write a note, then confirm it."
    assert entries[Discussion].description == ""  # no docstring, no Meta.description


def test_a_user_who_may_start_nothing_gets_a_way_on(ada):
    html = client_for(ada).get(MENU).content.decode()
    assert "There is nothing you may start." in html and "Go to my tasks" in html


def test_the_navigation_links_to_the_menu_only_for_who_may_start_something(carl, ada):
    link = f'<a href="{MENU}">Start</a>'
    assert link in client_for(carl).get(reverse("automations:task_list")).content.decode()
    assert link not in client_for(ada).get(reverse("automations:task_list")).content.decode()
    assert f'<a href="{MENU}" aria-current="page">Start</a>' in client_for(carl).get(MENU).content.decode()


def test_without_permissions_or_groups_every_active_user_may_start(open_class, ada, bob):
    assert list(menu_entries(ada)) == [open_class]
    bob.is_active = False
    assert not may_start(bob, open_class)
    assert not may_start(None, open_class)


# -- who may not ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_log_in(method):
    for url in (MENU, start_url(Claim)):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith(f"{LOGIN}?next={url}")
    assert not instances_of(Claim).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_users_who_may_not_start_a_class_get_the_403_page(method, ada, approver):
    for user, cls in ((ada, Claim), (approver, Claim), (ada, Confirmation)):
        response = getattr(client_for(user), method)(start_url(cls), claim_input())
        assert response.status_code == 403
        html = response.content.decode()
        assert f"You may not start {cls.get_verbose_name()}." in html and "Go to my tasks" in html
    assert not instances_of(Claim).exists() and not instances_of(Confirmation).exists()


def test_classes_without_a_start_form_and_unknown_paths_are_404(root):
    client = client_for(root)
    for path in (Internal.get_automation_class_name(), "os.system", "tests.people.test_start.Nope"):
        response = client.get(reverse("automations:start", args=[path]))
        assert response.status_code == 404
        assert "No automation can be started at this address." in response.content.decode()


def test_the_form_needs_the_csrf_token(carl, bob):
    client = client_for(carl, enforce_csrf_checks=True)
    assert client.post(start_url(Claim), claim_input()).status_code == 403
    assert not instances_of(Claim).exists()
    page = client.get(start_url(Claim))
    token = page.context["csrf_token"]
    assert client.post(start_url(Claim), {**claim_input(), "csrfmiddlewaretoken": token}).status_code == 302
    assert instances_of(Claim).count() == 1


# -- starting ------------------------------------------------------------------------------------


def test_the_form_page_shows_the_start_form(carl):
    response = client_for(carl).get(start_url(Claim))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Start: Claim</h1>" in html and 'name="purpose"' in html and ">Start</button>" in html
    assert f'href="{MENU}"' in html


def test_a_valid_form_creates_exactly_one_instance_with_the_cleaned_data(carl, bob):
    client = client_for(carl)
    response = client.post(start_url(Claim), claim_input())
    [model] = instances_of(Claim)
    assert model.data == {
        "amount": "12.50",  # a decimal, as a string
        "purpose": "Train",
        "day": "2024-05-01",  # a date, ISO
        "approver": bob.pk,  # a model instance, by id
        "notes": "",
        "claimant": carl.pk,  # the user who started it
    }
    assert model.model_refs == {"approver": "auth.user", "claimant": "auth.user"}
    claim = Claim(automation=model)
    assert claim.approver == bob and date.fromisoformat(claim.data["day"]) == date(2024, 5, 1)
    task = AutomationTaskModel.objects.get(automation=model, finished=None)
    assert (task.status, task.interaction_user) == ("review", bob)  # the first step ran
    # Carl may not see instances and has nothing to do: his task list, with a message.
    assert response.status_code == 302 and response["Location"] == reverse("automations:task_list")
    follow = client.get(response["Location"])
    assert f"Claim #{model.pk} was started." in follow.content.decode()


def test_who_may_see_instances_lands_on_the_new_instance(vera, bob):
    response = client_for(vera).post(start_url(Claim), claim_input())
    [model] = instances_of(Claim)
    assert response["Location"] == reverse("automations:instance", args=[model.pk])
    assert model.data["claimant"] == vera.pk


def test_a_first_step_that_asks_the_starter_leads_to_that_form(approver):
    client = client_for(approver)
    response = client.post(start_url(Confirmation), {"note": "Ship it"})
    [model] = instances_of(Confirmation)
    task = AutomationTaskModel.objects.get(automation=model, finished=None)
    assert response["Location"] == reverse("automations:task", args=[task.pk])
    page = client.get(response["Location"])
    assert f"Confirmation #{model.pk} was started." in page.content.decode()
    assert "Confirm your note" in page.content.decode()
    assert model.data == {"note": "Ship it", "starter": approver.pk}


def test_an_invalid_form_keeps_the_input_and_creates_nothing(carl, bob):
    response = client_for(carl).post(start_url(Claim), claim_input(amount="lots", purpose="Train <ride>"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="lots"' in html and 'value="Train &lt;ride&gt;"' in html and 'value="2024-05-01"' in html
    assert "Enter a number." in html
    assert not instances_of(Claim).exists()


def test_input_too_large_to_store_is_refused_with_the_input_kept(carl, bob, settings):
    settings.ATM_MAX_EVENT_SIZE = 1024
    response = client_for(carl).post(start_url(Claim), claim_input(notes="x" * 2000))
    assert response.status_code == 200
    assert "Your input cannot be stored (it must be at most 1024 bytes as JSON)." in response.content.decode()
    assert response.context["form"]["notes"].value() == "x" * 2000
    assert not instances_of(Claim).exists()


def test_a_unique_class_that_runs_already_says_so_and_links_to_it(approver, vera):
    client = client_for(approver)
    assert client.post(start_url(Discussion), {"topic": "Budget"}).status_code == 302
    [running] = instances_of(Discussion)
    response = client.post(start_url(Discussion), {"topic": "Budget"})
    assert response.status_code == 409
    html = response.content.decode()
    assert (
        f"Discussion #{running.pk} with these details is running already, so no new one was started." in html
    )
    task = AutomationTaskModel.objects.get(automation=running, finished=None)
    assert f'href="{reverse("automations:task", args=[task.pk])}"' in html  # his to moderate
    assert 'value="Budget"' in html
    assert instances_of(Discussion).count() == 1
    assert client.post(start_url(Discussion), {"topic": "Travel"}).status_code == 302  # another topic
    assert instances_of(Discussion).count() == 2
