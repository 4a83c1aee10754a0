"""Who may process a form task: the assignment matrix, task lists, settings and system checks."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from automations import engine, flow
from automations.checks import check_permission_settings, check_unassigned_forms
from automations.models import AutomationTaskModel
from automations.permissions import form_node_for, group_model, may_process, uses_custom_permissions
from automations.tasklist.queries import open_form_tasks, open_tasks_for
from tests.approvals.forms import ApprovalForm
from tests.people.flows import (
    WHO_MAY_PROCESS,
    ForAda,
    ForAll,
    ForApprovers,
    ForReviewers,
    Unassigned,
    make_user,
    open_task,
)

pytestmark = pytest.mark.django_db


# -- the matrix: every kind of assignment against every kind of user --------------------------------


@pytest.mark.parametrize("automation_class, allowed", WHO_MAY_PROCESS)
def test_who_may_process(automation_class, allowed, ada, bob, reviewer, approver, root):
    task = open_task(automation_class())
    users = [ada, bob, reviewer, approver, root]
    assert {user.username for user in users if may_process(user, task)} == allowed
    assert {user.username for user in users if task in open_tasks_for(user)} == allowed


def test_all_requirements_must_hold(db):
    only_user = make_user("ada")
    Group.objects.create(name="Reviewers")
    task = open_task(ForAll())
    assert not may_process(only_user, task)
    only_user.groups.add(Group.objects.get_or_create(name="Reviewers")[0])
    assert not may_process(User.objects.get(pk=only_user.pk), task)
    everything = make_user("ada2", groups=["Reviewers"], permissions=["approvals.approve_expense"])
    assert not may_process(everything, task)  # not Ada
    ada = User.objects.get(pk=only_user.pk)
    ada.user_permissions.add(*everything.user_permissions.all())
    assert may_process(User.objects.get(pk=ada.pk), task)


def test_anonymous_and_inactive_users_may_process_nothing(ada):
    task = open_task(Unassigned())
    assert not may_process(AnonymousUser(), task)
    assert not may_process(None, task)
    ada.is_active = False
    ada.save()
    assert not may_process(ada, task)
    assert list(open_tasks_for(AnonymousUser())) == []
    assert list(open_tasks_for(ada)) == []


def test_losing_the_group_loses_the_task(reviewer):
    task = open_task(ForReviewers())
    assert may_process(reviewer, task)
    reviewer.groups.clear()
    assert not may_process(User.objects.get(pk=reviewer.pk), task)


def test_finished_tasks_and_stopped_instances_are_nobodys(ada, root):
    automation = ForAda()
    task = open_task(automation)
    automation._model.__class__.objects.filter(pk=automation.id).update(error="boom", status="failed")
    task.refresh_from_db()
    task.automation.refresh_from_db()
    assert not may_process(root, task)
    assert list(open_tasks_for(root)) == []


def test_tasks_of_other_nodes_are_not_form_tasks(root, clock):
    from datetime import timedelta

    class Sleepy(flow.Automation):
        nap = flow.Execute(lambda task: None).AfterWaitingFor(timedelta(days=1))
        end = flow.End()

    automation = Sleepy()
    task = AutomationTaskModel.objects.get(automation_id=automation.id, finished=None)
    assert form_node_for(task) is None
    assert not may_process(root, task)
    assert task not in open_form_tasks()


def test_open_tasks_for_costs_a_fixed_number_of_queries(ada, django_assert_max_num_queries):
    for _ in range(5):
        ForAda()
        Unassigned()
    with django_assert_max_num_queries(4):  # the groups, the substitutions, the tasks, again by id
        assert len(list(open_tasks_for(ada))) == 10


def test_open_tasks_are_oldest_first(ada, clock):
    first = ForAda()
    clock.jump(minutes=5)
    second = Unassigned()
    assert [task.automation_id for task in open_tasks_for(ada)] == [first.id, second.id]


# -- get_users_with_permission --------------------------------------------------------------------


def test_task_users_with_permission(ada, bob, reviewer, approver, root):
    def names(automation_class, **kwargs):
        users = open_task(automation_class()).get_users_with_permission(**kwargs)
        return set(users.values_list("username", flat=True))

    assert names(ForAda) == {"ada", "root"}
    assert names(ForAda, include_superusers=False) == {"ada"}
    assert names(ForReviewers) == {"rita", "root"}
    assert names(ForApprovers, include_superusers=False) == {"alex"}
    assert names(ForApprovers, backend="django.contrib.auth.backends.ModelBackend") == {"alex", "root"}
    assert names(Unassigned, include_superusers=False) == {"ada", "bob", "rita", "alex", "root"}


def test_form_users_with_permission(ada, bob, reviewer, approver, root):
    def names(node):
        return set(node.get_users_with_permission().values_list("username", flat=True))

    assert names(ForAda.ask) == {"ada"}
    assert names(ForReviewers.ask) == {"rita"}
    assert names(ForApprovers.ask) == {"alex"}
    assert names(Unassigned.ask) == {"ada", "bob", "rita", "alex", "root"}


# -- settings: all or none ---------------------------------------------------------------------------

ALL_THREE = {
    "ATM_GROUP_MODEL": "auth.Group",
    "ATM_USER_WITH_PERMISSIONS_FORM_METHOD": "tests.people.test_permissions.form_method",
    "ATM_USER_WITH_PERMISSIONS_MODEL_METHOD": "tests.people.test_permissions.model_method",
}
CALLS = []


def form_method(node):
    CALLS.append(("form", node.name))
    return User.objects.filter(username="bob")


def model_method(task, include_superusers=True, backend=None):
    CALLS.append(("model", include_superusers))
    return User.objects.filter(username="bob")


@pytest.mark.parametrize(
    "given", [["ATM_GROUP_MODEL"], ["ATM_GROUP_MODEL", "ATM_USER_WITH_PERMISSIONS_FORM_METHOD"]]
)
def test_some_but_not_all_settings_are_improperly_configured(given):
    with override_settings(**{name: ALL_THREE[name] for name in given}):
        with pytest.raises(ImproperlyConfigured, match="set all of ATM_GROUP_MODEL"):
            uses_custom_permissions()
        with pytest.raises(ImproperlyConfigured):
            group_model()
        [error] = check_permission_settings()
        assert error.id == "automations.E010"
        assert isinstance(error, checks.Error)
        assert "ATM_USER_WITH_PERMISSIONS_MODEL_METHOD" in error.msg


def test_none_of_the_settings_means_auth_group():
    assert not uses_custom_permissions()
    assert group_model() is Group
    assert check_permission_settings() == []


def test_all_settings_call_the_project_methods(ada, bob):
    CALLS.clear()
    with override_settings(**ALL_THREE):
        assert check_permission_settings() == []
        assert uses_custom_permissions()
        task = open_task(ForAda())
        assert list(task.get_users_with_permission(include_superusers=False)) == [bob]
        assert list(ForAda.ask.get_users_with_permission()) == [bob]
        assert not may_process(bob, task)  # the task row names Ada: the method cannot widen that
        assert not may_process(ada, task)  # and the method does not list Ada
    assert ("form", "ask") in CALLS and ("model", False) in CALLS


def test_settings_that_do_not_resolve_are_reported():
    bad = {
        **ALL_THREE,
        "ATM_GROUP_MODEL": "nowhere.Team",
        "ATM_USER_WITH_PERMISSIONS_FORM_METHOD": "no.such.fn",
    }
    with override_settings(**bad):
        errors = check_permission_settings()
    assert [error.id for error in errors] == ["automations.E011", "automations.E011"]
    assert "nowhere.Team" in errors[0].msg and "no.such.fn" in errors[1].msg


def test_unassigned_forms_are_warned_about():
    warnings = check_unassigned_forms()
    unassigned = [w for w in warnings if w.obj is Unassigned]
    assert unassigned == [
        checks.Warning(
            "Unassigned.ask: Form() has no .User(), .Group() or .Permission(), "
            "so any logged-in user may process it.",
            hint="Assign the form, or add 'automations.W010' to SILENCED_SYSTEM_CHECKS if "
            "every logged-in user is meant to process it.",
            obj=Unassigned,
            id="automations.W010",
        )
    ]
    assert not [w for w in warnings if w.obj in (ForAda, ForReviewers, ForApprovers, ForAll)]


def test_submission_for_a_group_task_by_a_member(reviewer):
    automation = ForReviewers()
    task = open_task(automation)
    submission = engine.Submission(task_id=task.pk, result={}, user=reviewer)
    engine.advance(automation.id, submission=submission)
    assert submission.consumed and automation.finished()


def test_form_assigned_to_a_group_by_callable(reviewer):
    class ByCallable(flow.Automation):
        ask = flow.Form(ApprovalForm).Group(name=lambda task: task.data["team"])
        end = flow.End()

    task = open_task(ByCallable(team="Reviewers"))
    assert task.interaction_group == Group.objects.get(name="Reviewers")
    assert may_process(reviewer, task)


def test_form_users_with_permission_needs_static_selectors():
    from tests.approvals.automations import ExpenseApproval

    with pytest.raises(TypeError, match="depends on the task"):
        ExpenseApproval.approve.get_users_with_permission()


START_WITH_PARTIAL_SETTINGS = """
import django
from django.conf import settings
import tests.settings as base

values = {name: getattr(base, name) for name in dir(base) if name.isupper()}
values.update({given})
settings.configure(**values)
try:
    django.setup()
except Exception as error:
    print(type(error).__module__ + "." + type(error).__name__ + ": " + str(error))
else:
    print("started")
"""


@pytest.mark.parametrize(
    "given",
    [
        {"ATM_GROUP_MODEL": "auth.Group"},
        {"ATM_USER_WITH_PERMISSIONS_MODEL_METHOD": "tests.people.test_permissions.model_method"},
        {"ATM_GROUP_MODEL": "auth.Group", "ATM_USER_WITH_PERMISSIONS_FORM_METHOD": "x.y"},
    ],
)
def test_some_but_not_all_settings_refuse_to_start(given):
    import subprocess
    import sys
    from pathlib import Path

    script = START_WITH_PARTIAL_SETTINGS.replace("{given}", repr(given))
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.stdout.startswith("django.core.exceptions.ImproperlyConfigured: "), output
    assert "set all of ATM_GROUP_MODEL, ATM_USER_WITH_PERMISSIONS_FORM_METHOD" in result.stdout
