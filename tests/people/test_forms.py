"""Form and ModelForm nodes: opening tasks, assignment, submissions through the engine."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django import forms
from django.test import override_settings

from automations import engine, flow
from automations.flow.forms import DEFAULT_TEMPLATE_NAME
from automations.models import AutomationModel, AutomationTaskModel
from tests.approvals.automations import ExpenseApproval
from tests.approvals.forms import ApprovalForm, ExpenseForm
from tests.approvals.models import Expense
from tests.people.flows import ForAda, Unassigned, open_task

pytestmark = pytest.mark.django_db


def submit(task, user, result, apply=None):
    submission = engine.Submission(task_id=task.pk, result=result, user=user, apply=apply)
    engine.advance(task.automation_id, submission=submission)
    return submission


# -- declaration ------------------------------------------------------------------------------


def test_form_needs_a_django_form_class():
    with pytest.raises(TypeError, match="needs a Django form class"):
        flow.Form(dict)


def test_model_form_needs_a_model_form_class():
    with pytest.raises(TypeError, match="needs a Django ModelForm class"):
        flow.ModelForm(ApprovalForm, key="expense")


@pytest.mark.parametrize("permission", ["approve", ".approve", "a.b.c", 3])
def test_permission_must_be_app_label_dot_codename(permission):
    with pytest.raises(ValueError, match="app_label.codename"):
        flow.Form(ApprovalForm).Permission(permission)


def test_user_and_group_need_a_selector():
    with pytest.raises(TypeError, match="needs a selector"):
        flow.Form(ApprovalForm).User()
    with pytest.raises(TypeError, match="needs a selector"):
        flow.Form(ApprovalForm).Group()


def test_modifiers_chain_and_permissions_accumulate():
    node = flow.Form(ApprovalForm).User(id=1).Group(name="G").Permission("a.x").Permission("a.y")
    assert node._user == {"id": 1}
    assert node._group == {"name": "G"}
    assert node._permissions == ("a.x", "a.y")
    assert node.is_assigned()
    assert not flow.Form(ApprovalForm).is_assigned()


def test_flow_facade_exports_the_form_nodes():
    assert "Form" in flow.__all__ and "ModelForm" in flow.__all__


# -- opening the task -------------------------------------------------------------------------


def test_form_opens_an_assigned_task_and_the_instance_waits(ada):
    automation = ForAda()
    task = open_task(automation)
    assert task.status == "ask"
    assert task.interaction_user_id == ada.pk
    assert task.interaction_group_id is None and task.interaction_permissions == []
    assert not automation.finished()
    assert AutomationModel.objects.get(pk=automation.id).wake_at is None  # waits for the person, no polling


def test_a_form_as_first_node_gets_its_assignment_saved(ada, bob):
    automation = ExpenseApproval(requester="ada", approver="bob")
    task = open_task(automation)
    assert (task.status, task.interaction_user_id) == ("enter", ada.pk)


def test_revisiting_a_waiting_form_does_not_resolve_the_user_again(ada):
    automation = ForAda()
    engine.advance(automation.id)  # nothing to do, but the form is visited again
    ada.username = "renamed"
    ada.save()
    engine.advance(automation.id)
    assert open_task(automation).interaction_user_id == ada.pk


def test_a_selector_matching_nobody_stops_the_instance_with_a_clear_error(db):
    automation = ForAda()
    model = AutomationModel.objects.get(pk=automation.id)
    assert "matches no user" in model.error
    failed = AutomationTaskModel.objects.get(automation_id=automation.id, status="ask")
    assert "LookupError" in failed.message


def test_a_deleted_assignee_leaves_the_task_to_superusers_until_the_instance_stops(ada, bob, root):
    from automations.permissions import may_process

    automation = ForAda()
    ada.delete()
    task = open_task(automation)
    assert task.interaction_user_id is None
    assert not may_process(bob, task)  # the declaration still asks for a user
    assert may_process(root, task)
    assert list(task.get_users_with_permission()) == [root]
    assert list(task.get_users_with_permission(include_superusers=False)) == []
    engine.advance(automation.id)  # the next visit finds nobody to assign: a visible error
    assert "matches no user" in AutomationModel.objects.get(pk=automation.id).error


def test_selectors_may_be_callables_taking_the_task(ada, bob):
    automation = ExpenseApproval(requester="bob", approver="ada")
    assert open_task(automation).interaction_user_id == bob.pk


# -- submissions ----------------------------------------------------------------------------------


def test_a_submission_finishes_the_task_and_the_instance_continues(ada):
    automation = ForAda()
    task = open_task(automation)
    submission = submit(task, ada, {"approved": True, "comment": "ok"})
    assert submission.consumed
    task.refresh_from_db()
    assert task.finished is not None
    assert task.result == {"approved": True, "comment": "ok"}
    assert task.finished_by == ada
    assert automation.finished()
    assert AutomationModel.objects.get(pk=automation.id).data["ask"] == {"approved": True, "comment": "ok"}


def test_a_submission_by_someone_else_is_not_taken(ada, bob):
    automation = ForAda()
    task = open_task(automation)
    submission = submit(task, bob, {"approved": True})
    assert not submission.consumed
    assert open_task(automation).pk == task.pk


def test_a_submission_for_a_finished_task_is_not_taken_again(ada):
    automation = ForAda()
    task = open_task(automation)
    applied = []
    assert submit(task, ada, {"approved": True}, apply=lambda: applied.append(1)).consumed
    second = submit(task, ada, {"approved": False}, apply=lambda: applied.append(2))
    assert not second.consumed
    assert applied == [1]
    task.refresh_from_db()
    assert task.result == {"approved": True}


def test_a_submission_arriving_after_skip_after_is_not_taken(ada, clock):
    class Deadline(flow.Automation):
        ask = flow.Form(ApprovalForm).User(username="ada").SkipAfter(timedelta(hours=1))
        end = flow.End()

    automation = Deadline()
    task = open_task(automation)
    clock.jump(hours=2)
    submission = submit(task, ada, {"approved": True})
    assert not submission.consumed
    task.refresh_from_db()
    assert task.message == "skipped"
    assert automation.finished()


def test_a_failing_apply_fails_the_task_and_is_not_taken(ada):
    automation = ForAda()
    task = open_task(automation)

    def apply():
        Expense.objects.create(title="half", amount=Decimal("1"))
        raise RuntimeError("disk full")

    submission = submit(task, ada, {"approved": True}, apply=apply)
    assert not submission.consumed
    assert not Expense.objects.exists()  # the apply's own writes rolled back
    assert "disk full" in AutomationModel.objects.get(pk=automation.id).error


# -- ModelForm ----------------------------------------------------------------------------------


def test_model_form_creates_the_instance_and_stores_its_id(ada, bob):
    automation = ExpenseApproval(requester="ada", approver="bob")
    task = open_task(automation)
    node = automation.enter
    assert node.get_form_kwargs(task) == {"instance": None}
    form = ExpenseForm({"title": "Train", "amount": "12.50"}, **node.get_form_kwargs(task))
    assert form.is_valid()
    submission = submit(task, ada, {"title": "Train", "amount": "12.50"}, apply=form.save)
    assert submission.consumed
    expense = Expense.objects.get()
    assert (expense.title, expense.amount) == ("Train", Decimal("12.50"))
    model = AutomationModel.objects.get(pk=automation.id)
    assert model.data["expense"] == expense.pk
    assert open_task(automation).status == "approve"


def test_model_form_edits_the_instance_stored_under_key(ada, bob):
    expense = Expense.objects.create(title="Taxi", amount=Decimal("30"))
    automation = ExpenseApproval(requester="ada", approver="bob", expense=expense)
    task = open_task(automation)
    node = ExpenseApproval(automation_id=automation.id).enter
    assert node.get_instance() == expense
    form = ExpenseForm({"title": "Taxi home", "amount": "31"}, **node.get_form_kwargs(task))
    assert form.is_valid()
    submit(task, ada, {"title": "Taxi home", "amount": "31"}, apply=form.save)
    expense.refresh_from_db()
    assert expense.title == "Taxi home"
    assert Expense.objects.count() == 1


def test_whole_expense_approval_runs_to_the_end(ada, bob):
    expense = Expense.objects.create(title="Taxi", amount=Decimal("30"))
    automation = ExpenseApproval(requester="ada", approver="bob", expense=expense)
    submit(open_task(automation), ada, {"title": "Taxi", "amount": "30"})
    approve = open_task(automation)
    assert approve.interaction_user_id == bob.pk
    submit(approve, bob, {"approved": True, "comment": ""})
    assert automation.finished()
    expense.refresh_from_db()
    assert expense.approved is True


# -- templates and context --------------------------------------------------------------------------


class WithTemplates(flow.Automation):
    default_template_name = "shop/automation_form.html"
    context = {"shared": "automation", "color": "automation"}

    own = flow.Form(ApprovalForm, template_name="shop/own.html", context={"color": "node"})
    fallback = flow.Form(ApprovalForm)
    end = flow.End()


class WithoutTemplates(flow.Automation):
    ask = flow.Form(ApprovalForm)
    end = flow.End()


def test_template_lookup_order():
    assert WithTemplates.own.get_template_names() == [
        "shop/own.html",
        "shop/automation_form.html",
        DEFAULT_TEMPLATE_NAME,
    ]
    assert WithTemplates.fallback.get_template_names() == ["shop/automation_form.html", DEFAULT_TEMPLATE_NAME]
    assert WithoutTemplates.ask.get_template_names() == ["automations/form_view.html"]


@override_settings(ATM_FORM_VIEW_CONTEXT={"site": "settings", "shared": "settings", "color": "settings"})
def test_context_layers_settings_then_automation_then_node():
    assert WithTemplates.own.get_context() == {"site": "settings", "shared": "automation", "color": "node"}
    assert WithTemplates.fallback.get_context() == {
        "site": "settings",
        "shared": "automation",
        "color": "automation",
    }


def test_form_node_declaration_is_not_changed_by_running(ada):
    ForAda()
    assert ForAda.ask._automation is None
    assert ForAda.ask._user == {"username": "ada"}


def test_form_class_property():
    assert Unassigned.ask.form_class is ApprovalForm
    assert issubclass(ExpenseApproval.enter.form_class, forms.ModelForm)


def test_plain_string_selectors_are_values_even_when_a_node_has_that_name(db):
    from django.contrib.auth.models import Group

    class Review(flow.Automation):
        review = flow.Form(ApprovalForm).Group(name="review")
        end = flow.End()

    group = Group.objects.create(name="review")
    assert open_task(Review()).interaction_group == group


def test_selectors_may_refer_to_methods_of_the_automation(ada, bob):
    from automations.flow import this

    class ByMethod(flow.Automation):
        ask = flow.Form(ApprovalForm).User(username=this.assignee)
        end = flow.End()

        def assignee(self, task):
            return self.data["who"]

    assert open_task(ByMethod(who="bob")).interaction_user == bob
