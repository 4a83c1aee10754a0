"""Hand-overs through the API: claim, unassign, reassign, snooze, wake, delegation.

The rules are automations.handover's (tested in tests/people/test_handover.py); these tests show
that the API calls them and answers as documented, and that the inbox follows.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from automations.models import AuditEntry, AutomationModel
from tests.api.flows import DecidersApproval, token_for
from tests.people.flows import ForAda, make_user, open_task

pytestmark = pytest.mark.django_db

TASKS = "/automations/api/tasks/"


@pytest.fixture
def max_(people):
    return make_user("max", groups=["Deciders"])


def test_a_claim_takes_the_task_out_of_a_colleagues_queue(api, people, max_):
    task = open_task(DecidersApproval())
    mia = api("manager")
    claimed = mia.post(f"{TASKS}{task.pk}/claim/")
    assert claimed.status_code == 200
    assert claimed.json()["section"] == "mine" and claimed.json()["assigned_to"] == "mia"
    assert AuditEntry.objects.filter(action=AuditEntry.CLAIM, user=people["manager"]).count() == 1

    other = api()
    other.credentials(HTTP_AUTHORIZATION=f"Token {token_for(max_)}")
    assert other.get(TASKS).json()["count"] == 0
    held = other.get(f"{TASKS}{task.pk}/")
    assert held.status_code == 409 and "mia" in held.json()["detail"]
    refused = other.post(f"{TASKS}{task.pk}/submit/", {"approved": True}, format="json")
    assert refused.status_code == 409
    again = other.post(f"{TASKS}{task.pk}/claim/")
    assert again.status_code == 409 and "somebody" in again.json()["detail"]

    back = mia.post(f"{TASKS}{task.pk}/unassign/")
    assert (
        back.status_code == 200 and back.json()["section"] == "queue" and back.json()["assigned_to"] is None
    )
    assert other.get(TASKS).json()["count"] == 1


def test_reassigning_to_a_user_or_a_group(api, people, max_):
    task = open_task(DecidersApproval())
    staff = api("staff")
    to_max = staff.post(f"{TASKS}{task.pk}/reassign/", {"username": "max"}, format="json")
    assert to_max.status_code == 200 and to_max.json()["assigned_to"] == "max"
    nobody = staff.post(f"{TASKS}{task.pk}/reassign/", {"username": "nobody"}, format="json")
    assert nobody.status_code == 400 and "nobody" in nobody.json()["errors"]["username"][0]
    both = staff.post(f"{TASKS}{task.pk}/reassign/", {"username": "max", "group": 1}, format="json")
    assert both.status_code == 400 and both.json()["errors"]["__all__"]
    not_allowed = staff.post(f"{TASKS}{task.pk}/reassign/", {"username": "pat"}, format="json")
    assert not_allowed.status_code == 409 and "pat may not process" in not_allowed.json()["detail"]
    reviewers = Group.objects.create(name="Reviewers")
    to_group = staff.post(f"{TASKS}{task.pk}/reassign/", {"group": reviewers.pk}, format="json")
    assert to_group.status_code == 200 and to_group.json()["assigned_to"] is None
    assert api("manager").get(f"{TASKS}{task.pk}/").status_code == 404  # not the Deciders' any more
    assert (
        api("plain").post(f"{TASKS}{task.pk}/reassign/", {"username": "mia"}, format="json").status_code
        == 404
    )


def test_a_snoozed_task_waits_under_snoozed_until_it_comes_back(api, people):
    task = open_task(DecidersApproval())
    mia = api("manager")
    until = timezone.now() + timedelta(hours=2)
    snoozed = mia.post(f"{TASKS}{task.pk}/snooze/", {"until": until.isoformat()}, format="json")
    assert snoozed.status_code == 200
    assert snoozed.json()["section"] == "snoozed" and snoozed.json()["assigned_to"] == "mia"
    assert [row["id"] for row in mia.get(TASKS, {"section": "snoozed"}).json()["results"]] == [task.pk]
    assert mia.get(TASKS, {"section": "mine"}).json()["count"] == 0
    past = mia.post(f"{TASKS}{task.pk}/snooze/", {"until": "2000-01-01T08:00:00Z"}, format="json")
    assert past.status_code == 409
    choice = mia.post(f"{TASKS}{task.pk}/snooze/", {"snooze": "monday"}, format="json").json()
    assert choice["snoozed_until"] > until.isoformat()
    woken = mia.post(f"{TASKS}{task.pk}/wake/")
    assert woken.status_code == 200 and woken.json()["section"] == "mine"
    assert woken.json()["snoozed_until"] is None


def test_a_substitute_sees_and_processes_the_absent_users_task(api, people):
    make_user("ada")
    automation = ForAda()
    task = open_task(automation)
    plain = api("plain")  # pat stands in for ada
    assert plain.get(f"{TASKS}{task.pk}/").status_code == 404
    ends = timezone.now() + timedelta(days=3)
    made = plain.post(
        "/automations/api/delegations/",
        {"user": "ada", "substitute": "pat", "ends": ends.isoformat()},
        format="json",
    )
    assert made.status_code == 403  # only ada herself or a manager names her substitute
    made = api("staff").post(
        "/automations/api/delegations/",
        {"user": "ada", "substitute": "pat", "ends": ends.isoformat()},
        format="json",
    )
    assert made.status_code == 201 and made.json()["created_by"] == "stan"
    assert [row["user"] for row in plain.get("/automations/api/delegations/").json()] == ["ada"]
    listed = plain.get(TASKS).json()["results"]
    assert [(row["id"], row["section"]) for row in listed] == [(task.pk, "mine")]
    assert plain.post(f"{TASKS}{task.pk}/submit/", {"approved": True}, format="json").status_code == 200
    assert AutomationModel.objects.get(pk=automation.id).finished

    ended = plain.post(f"/automations/api/delegations/{made.json()['id']}/end/")
    assert ended.status_code == 200
    assert plain.get("/automations/api/delegations/").json() == []
    assert api("manager").post(f"/automations/api/delegations/{made.json()['id']}/end/").status_code == 404
