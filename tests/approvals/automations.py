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


class PaymentReminders(flow.Automation):
    """Remind a customer until they pay: a decision whose branches meet, a loop and a branch not taken."""

    class Meta:
        verbose_name = "Payment reminders"

    vip = flow.If(this.is_vip).Then(this.mark_priority)  # either way on to "remind"
    remind = flow.Execute(this.send_reminder).AsSoonAs(this.may_remind)
    again = flow.If(this.remind_again).Then(this.remind)
    paid = flow.If(this.has_paid).Then(this.thank).Else(this.escalate)
    escalate = flow.Execute(this.hand_to_collection).Next(this.close)
    thank = flow.Execute(this.send_thanks)
    close = flow.Execute().AsSoonAs(this.is_closed)
    end = flow.End()

    def is_vip(self, task):
        return self.data.get("vip", False)

    def mark_priority(self, task):
        self.data["priority"] = True

    def may_remind(self, task):
        return self.data.get("may_remind", False)

    def send_reminder(self, task):
        self.data["reminders"] = self.data.get("reminders", 0) + 1

    def remind_again(self, task):
        return self.data["reminders"] < 3

    def has_paid(self, task):
        return self.data.get("paid", False)

    def hand_to_collection(self, task): ...

    def send_thanks(self, task): ...

    def is_closed(self, task):
        return self.data.get("closed", False)
