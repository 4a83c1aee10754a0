"""A held instance (``needs_migration``) in the console: what it says, and moving it to a node."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from automations import engine, testing
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel, Status
from tests.deploy_flows import declare

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    user = User.objects.create_user("olga", password="pw")
    codenames = ["view_automationmodel", "change_automationmodel"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def held(clock):
    with testing.restored_registry():
        journey = declare("v1")(n=1)
        declare("v2-unmapped")
        AutomationModel.objects.filter(pk=journey.id).update(wake_at=clock())
        engine.advance(journey.id)
        yield AutomationModel.objects.get(pk=journey.id)


def test_the_instance_page_says_what_holds_it_and_offers_to_move_it(client, operator, held):
    assert held.status == Status.NEEDS_MIGRATION
    client.force_login(operator)
    page = client.get(reverse("automations:instance", args=[held.pk])).content.decode()
    assert "needs migration" in page
    assert "It stands on wait_time, which its class no longer declares." in page
    assert "version 1, shape " in page and "declared differently now" in page
    assert "Needs migration: it stands on a node its class no longer declares." in page  # not "Not started"
    assert "nothing: it needs migration" in page  # what it waits for
    assert 'class="atm-warning"' in page  # held, not failed: not in the colour of errors
    assert reverse("automations:instance_action", args=[held.pk, "move"]) in page


def test_moving_a_held_instance_asks_why_and_writes_an_audit_line(client, operator, held, clock):
    client.force_login(operator)
    url = reverse("automations:instance_action", args=[held.pk, "move"])
    confirm = client.get(url).content.decode()
    assert "Move the path that stands on a node its class no longer declares" in confirm
    assert '<option value="wait_an_hour">' in confirm and '<option value="wait_time">' in confirm
    assert '<option value="wait_an_hour">wait_an_hour: ' in confirm  # the name first, seen on a phone too
    refused = client.post(url, {"from_node": "wait_time", "to_node": "wait_an_hour", "reason": ""})
    assert refused.status_code == 200 and AuditEntry.objects.count() == 0
    done = client.post(url, {"from_node": "wait_time", "to_node": "wait_an_hour", "reason": "renamed in 2.0"})
    assert done.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.user) == ("move", operator)
    assert entry.details == {"from": "wait_time", "to": "wait_an_hour"}
    assert entry.describe() == "Moved from wait_time to wait_an_hour by olga: renamed in 2.0"
    task = AutomationTaskModel.objects.get(automation_id=held.pk, finished=None)
    assert task.status == "wait_an_hour"
    held.refresh_from_db()
    assert held.status == Status.WAITING_FOR_TIME  # it went on at once, and waits for its hour


def test_only_people_with_the_change_permission_may_move(client, held):
    viewer = User.objects.create_user("vic", password="pw")
    viewer.user_permissions.add(Permission.objects.get(codename="view_automationmodel"))
    client.force_login(viewer)
    url = reverse("automations:instance_action", args=[held.pk, "move"])
    response = client.post(url, {"from_node": "wait_time", "to_node": "wait_an_hour", "reason": "x"})
    assert response.status_code == 403 and AuditEntry.objects.count() == 0
