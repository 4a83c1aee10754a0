"""The stand-in open-tasks helper of the CMS task list plugin.

``automations.cms_automations.open_tasks.open_tasks_for`` is the one function the plugin asks for a
user's open tasks. Skipped when django-cms is not installed.
"""

import pytest

pytest.importorskip("cms")

from django.contrib.auth.models import AnonymousUser, Group, Permission, User  # noqa: E402

from automations.cms_automations import open_tasks  # noqa: E402
from automations.models import AutomationModel, AutomationTaskModel  # noqa: E402

WEBINAR = "tests.cms_site.automations.Webinar"


@pytest.fixture
def row(db):
    return AutomationModel.objects.create(automation_class=WEBINAR)


def task(row, status, **assignment):
    return AutomationTaskModel.objects.create(automation=row, status=status, **assignment)


def names(tasks):
    return [t.status for t in tasks]


def test_open_tasks_need_every_assignment_to_hold(row):
    user = User.objects.create_user("u")
    group = Group.objects.create(name="g")
    perm = Permission.objects.get(codename="view_automationmodel")
    task(row, "user_and_group", interaction_user=user, interaction_group=group)
    task(
        row,
        "group_and_perm",
        interaction_group=group,
        interaction_permissions=["automations.view_automationmodel"],
    )
    task(row, "unassigned")

    assert names(open_tasks.open_tasks_for(user)) == []
    user.groups.add(group)
    assert names(open_tasks.open_tasks_for(user)) == ["user_and_group"]
    user.user_permissions.add(perm)
    user = User.objects.get(pk=user.pk)  # forget the cached permissions
    assert names(open_tasks.open_tasks_for(user)) == ["user_and_group", "group_and_perm"]


def test_open_tasks_leave_out_finished_tasks_and_finished_instances(row):
    user = User.objects.create_user("u")
    done = task(row, "done", interaction_user=user)
    done.finished = done.created
    done.save()
    other = AutomationModel.objects.create(automation_class=WEBINAR, finished=True)
    task(other, "of_finished_instance", interaction_user=user)
    task(row, "open", interaction_user=user)

    assert names(open_tasks.open_tasks_for(user)) == ["open"]


def test_open_tasks_of_inactive_and_anonymous_users_are_none(row):
    user = User.objects.create_user("u", is_active=False)
    task(row, "open", interaction_user=user)

    assert names(open_tasks.open_tasks_for(user)) == []
    assert names(open_tasks.open_tasks_for(AnonymousUser())) == []
    assert names(open_tasks.open_tasks_for(None)) == []


def test_superusers_see_every_assigned_open_task(row):
    admin = User.objects.create_superuser("admin")
    task(row, "someone_elses", interaction_user=User.objects.create_user("u"))
    task(row, "unassigned")

    assert names(open_tasks.open_tasks_for(admin)) == ["someone_elses"]
