"""Forms assigned to a group model of the project's own; run only with ``--ds=tests.settings_groups``.

The name does not start with ``test_`` so that the main test run, whose settings know no ``teams``
app, does not collect it; ``tests/people/test_custom_groups.py`` runs it in its own process.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from automations import flow
from automations.checks import check_permission_settings
from automations.models import AutomationTaskModel
from automations.permissions import group_model, may_process
from automations.tasklist.live import recipients
from automations.tasklist.queries import open_tasks_for
from tests.approvals.forms import ApprovalForm
from tests.teams.models import Team

pytestmark = pytest.mark.django_db


class EditorsReview(flow.Automation):
    review = flow.Form(ApprovalForm, description="Review as an editor").Group(name="Editors")
    end = flow.End()


@pytest.fixture
def people(db):
    user_model = get_user_model()
    editors = Team.objects.create(name="Editors")
    Team.objects.create(name="Writers")
    member = user_model.objects.create_user("erin", password="pw")
    outsider = user_model.objects.create_user("otto", password="pw")
    root = user_model.objects.create_superuser("root", password="pw")
    editors.members.add(member)
    return member, outsider, root


def open_task(automation):
    tasks = AutomationTaskModel.objects.select_related("automation")
    return tasks.get(automation_id=automation.id, finished=None)


def test_the_settings_are_complete_and_the_group_model_is_swapped():
    assert check_permission_settings() == []
    assert group_model() is Team
    assert AutomationTaskModel._meta.get_field("interaction_group").related_model is Team


def test_a_form_is_assigned_to_a_team(people):
    member, outsider, root = people
    task = open_task(EditorsReview())
    assert task.interaction_group == Team.objects.get(name="Editors")
    assert may_process(member, task)
    assert not may_process(outsider, task)
    assert may_process(root, task)
    assert list(open_tasks_for(member)) == [task]
    assert list(open_tasks_for(outsider)) == []


def test_the_project_methods_answer_who_may_process(people):
    member, outsider, root = people
    task = open_task(EditorsReview())
    assert set(task.get_users_with_permission()) == {member, root}
    assert list(EditorsReview.review.get_users_with_permission()) == [member]
    assert recipients(task) == ({member.pk, root.pk}, False)


def test_the_views_follow_team_membership(people):
    member, outsider, root = people
    automation = EditorsReview()
    task = open_task(automation)
    url = f"/automations/tasks/{task.pk}/"
    for user, status in ((outsider, 404), (member, 200)):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == status
    client = Client()
    client.force_login(member)
    assert client.post(url, {"approved": "on"}).status_code == 302
    assert automation.finished()
    task.refresh_from_db()
    assert task.finished_by == member


def test_leaving_the_team_loses_the_task(people):
    member, outsider, root = people
    task = open_task(EditorsReview())
    Team.objects.get(name="Editors").members.remove(member)
    assert not may_process(member, task)
