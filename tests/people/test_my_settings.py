"""The settings page of a user: their substitute while away, and the notifications they get."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from automations import handover, notifications
from automations.models import Delegation, NotificationOptOut
from tests.approvals.automations import ExpenseApproval
from tests.people.flows import make_user
from tests.people.test_notifications import RECORDING, Recording

pytestmark = pytest.mark.django_db

SETTINGS = reverse("automations:my_settings")


def moment(value) -> str:
    """Return ``value`` as a browser's datetime-local input sends it, in the current time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def away(client, substitute, *, days=7, starts=None):
    data = {
        "away-substitute": substitute,
        "away-ends": moment(timezone.now() + timedelta(days=days)),
        "away": "",
    }
    if starts is not None:
        data["away-starts"] = moment(starts)
    return client.post(SETTINGS, data)


def notify(client, *kinds):
    return client.post(SETTINGS, {**{f"notify-{kind}": "on" for kind in kinds}, "notify": ""})


def test_anonymous_users_are_sent_to_log_in(client):
    for response in (client.get(SETTINGS), client.post(SETTINGS, {"notify": ""})):
        assert response.status_code == 302 and response.url.startswith("/accounts/login/?next=")
    end = reverse("automations:end_delegation", args=[1])
    assert client.post(end).url.startswith("/accounts/login/?next=")


def test_the_inbox_links_to_the_settings_page(client, ada):
    client.force_login(ada)
    assert f'href="{SETTINGS}"' in client.get(reverse("automations:task_list")).content.decode()


def test_a_user_names_a_substitute_sees_the_delegation_and_ends_it(client, ada, bob):
    client.force_login(ada)
    response = away(client, "bob")
    assert response.status_code == 302 and response.url == SETTINGS
    made = Delegation.objects.get()
    assert (made.user, made.substitute, made.created_by) == (ada, bob, ada)

    page = client.get(SETTINGS).content.decode()
    assert "bob stands in for you." in page
    assert f'data-atm-delegation="{made.pk}"' in page and "End now" in page
    client.force_login(bob)  # the substitute sees it from the other side
    page = client.get(SETTINGS).content.decode()
    assert "You stand in for nobody." not in page and f'data-atm-delegation="{made.pk}"' in page

    client.force_login(ada)
    response = client.post(reverse("automations:end_delegation", args=[made.pk]), follow=True)
    assert "bob no longer stands in for ada." in response.content.decode()
    made.refresh_from_db()
    assert made.ends <= timezone.now()
    assert "You have no substitute set up." in client.get(SETTINGS).content.decode()


def test_a_coming_delegation_is_listed_with_its_start_and_dropped_when_ended(client, ada, bob):
    client.force_login(ada)
    away(client, "bob", days=9, starts=timezone.now() + timedelta(days=2))
    page = client.get(SETTINGS).content.decode()
    assert "Drop" in page and "End now" not in page
    client.post(reverse("automations:end_delegation", args=[Delegation.objects.get().pk]))
    assert not Delegation.objects.exists()


def test_the_substitute_sees_the_absent_user_s_task_in_their_inbox(client, ada, bob):
    make_user("root", superuser=True)
    ExpenseApproval(requester="ada", approver="root")
    client.force_login(ada)
    away(client, "bob")
    client.force_login(bob)
    assert "for ada" in client.get(reverse("automations:task_list")).content.decode()


def test_an_overlapping_delegation_is_a_form_error(client, ada, bob):
    carl = make_user("carl")
    handover.delegate(ada, bob, timezone.now() + timedelta(days=3))
    client.force_login(ada)
    response = away(client, "carl")
    assert response.status_code == 200
    assert response.context["away_form"].non_field_errors() == [
        "ada has a substitute for part of this period already: end that delegation first."
    ]
    assert "end that delegation first" in response.content.decode()
    assert not Delegation.objects.filter(substitute=carl).exists()


@pytest.mark.parametrize(
    ("substitute", "days", "field", "error"),
    [
        ("nobody", 7, "substitute", "There is no active user nobody."),
        ("bob", -1, "ends", "Give a date and time still to come."),
        ("", 7, "substitute", "This field is required."),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_is_made(
    client, ada, bob, substitute, days, field, error
):
    client.force_login(ada)
    response = away(client, substitute, days=days)
    assert response.status_code == 200
    assert response.context["away_form"].errors[field] == [error]
    assert not Delegation.objects.exists()


def test_naming_oneself_is_refused_by_the_hand_over_rules(client, ada):
    client.force_login(ada)
    response = away(client, "ada")
    assert response.context["away_form"].non_field_errors() == ["Name somebody else as the substitute."]


def test_a_user_cannot_end_somebody_else_s_delegation(client, ada, bob):
    carl = make_user("carl")
    theirs = handover.delegate(ada, bob, timezone.now() + timedelta(days=3))
    client.force_login(carl)
    response = client.post(reverse("automations:end_delegation", args=[theirs.pk]))
    assert response.status_code == 403
    assert "Only the user, their substitute or a manager may end a delegation." in response.content.decode()
    assert f'data-atm-delegation="{theirs.pk}"' not in client.get(SETTINGS).content.decode()
    theirs.refresh_from_db()
    assert theirs.ends > timezone.now()


def test_ending_needs_a_post_and_a_running_delegation(client, ada, bob):
    made = handover.delegate(ada, bob, timezone.now() + timedelta(days=3))
    client.force_login(ada)
    end = reverse("automations:end_delegation", args=[made.pk])
    assert client.get(end).status_code == 405
    assert client.post(reverse("automations:end_delegation", args=[made.pk + 1])).status_code == 404
    client.post(end)
    assert client.post(end).status_code == 404  # ended already


def test_the_page_needs_the_csrf_token(ada):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    assert client.post(SETTINGS, {"notify": ""}).status_code == 403
    assert not NotificationOptOut.objects.exists()


def test_all_kinds_are_on_until_the_user_switches_some_off(client, ada):
    client.force_login(ada)
    form = client.get(SETTINGS).context["notifications_form"]
    assert [field.name for field in form] == list(notifications.KINDS)
    assert all(form[kind].initial for kind in notifications.KINDS)

    on = [kind for kind in notifications.KINDS if kind != "task_assigned"]
    assert notify(client, *on).url == SETTINGS
    assert notifications.opted_out(ada) == {"task_assigned"}
    form = client.get(SETTINGS).context["notifications_form"]
    assert form["task_assigned"].initial is False and form["instance_failed"].initial is True


@pytest.mark.django_db(transaction=True)  # versions remember committed rows: commit for real
@override_settings(ATM_NOTIFIERS=RECORDING, ATM_NOTIFY_IN_BACKGROUND=False)
def test_switching_a_kind_off_and_on_changes_what_the_user_is_told(
    client, ada, django_capture_on_commit_callbacks
):
    Recording.sent = []
    make_user("root", superuser=True)
    client.force_login(ada)
    notify(client, "instance_finished")  # everything else off, task_assigned too
    with django_capture_on_commit_callbacks(execute=True):
        ExpenseApproval(requester="ada", approver="root")
    assert Recording.sent == []

    notify(client, *notifications.KINDS)
    with django_capture_on_commit_callbacks(execute=True):
        ExpenseApproval(requester="ada", approver="root")
    assert [(sent.kind, sent.username) for sent in Recording.sent] == [("task_assigned", "ada")]
    assert not NotificationOptOut.objects.exists()


def test_a_user_opted_out_of_everything_sees_every_box_off_and_opts_back_in_to_one(client, ada):
    notifications.opt_out(ada)  # "*", e.g. set in the admin
    client.force_login(ada)
    form = client.get(SETTINGS).context["notifications_form"]
    assert not any(form[kind].initial for kind in notifications.KINDS)
    notify(client, "task_assigned")
    assert notifications.opted_out(ada) == set(notifications.KINDS) - {"task_assigned"}
    assert not NotificationOptOut.objects.filter(kind=NotificationOptOut.ANY).exists()


def test_opt_in_to_one_kind_keeps_the_others_off_and_opt_in_to_all_clears_them(ada):
    notifications.opt_out(ada)
    notifications.opt_in(ada, "instance_failed")
    assert notifications.opted_out(ada) == set(notifications.KINDS) - {"instance_failed"}
    notifications.opt_in(ada)
    assert notifications.opted_out(ada) == set()
    with pytest.raises(ValueError, match="Unknown notification kind 'fax'"):
        notifications.opt_in(ada, "fax")
