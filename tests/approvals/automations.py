"""Automations of the form, view and browser tests (discovered at start-up, also by live servers)."""

from automations import flow
from automations.flow import this

from .forms import ApprovalForm, ExpenseForm
from .models import Expense


class ExpenseApproval(flow.Automation):
    """The requester enters an expense, the approver decides on it."""

    class Meta:
        verbose_name = "Expense approval"
        verbose_name_plural = "Expense approvals"

    expense = Expense

    enter = flow.ModelForm(ExpenseForm, key="expense", description="Enter your expense").User(
        username=lambda task: task.data["requester"]
    )
    approve = flow.Form(ApprovalForm, description="Approve the expense").User(
        username=lambda task: task.data["approver"]
    )
    record = flow.Execute(this.record_decision)
    end = flow.End()

    def record_decision(self, task):
        expense = self.expense
        expense.approved = self.data["approve"]["approved"]
        expense.save()
        return expense.approved


class TeamReview(flow.Automation):
    """A form for the members of a group who hold a permission."""

    class Meta:
        verbose_name = "Team review"

    review = (
        flow.Form(ApprovalForm, description="Review the request")
        .Group(name="Reviewers")
        .Permission("approvals.approve_expense")
    )
    end = flow.End()
