"""Automations and helpers shared by the tests of forms, views and live task lists."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission, User

from automations import flow
from automations.models import AutomationTaskModel
from tests.approvals.forms import ApprovalForm

PASSWORD = "secret-password"


class Unassigned(flow.Automation):
    ask = flow.Form(ApprovalForm, description="Anybody may answer")
    end = flow.End()


class ForAda(flow.Automation):
    start = flow.Execute(lambda task: None)
    ask = flow.Form(ApprovalForm, description="Only for Ada").User(username="ada")
    end = flow.End()


class ForReviewers(flow.Automation):
    ask = flow.Form(ApprovalForm).Group(name="Reviewers")
    end = flow.End()


class ForApprovers(flow.Automation):
    ask = flow.Form(ApprovalForm).Permission("approvals.approve_expense")
    end = flow.End()


class ForAll(flow.Automation):
    """Every requirement at once: Ada, member of Reviewers, with the permission."""

    ask = (
        flow.Form(ApprovalForm)
        .User(username="ada")
        .Group(name="Reviewers")
        .Permission("approvals.approve_expense")
    )
    end = flow.End()


# Who of the users the people tests' fixtures make (ada, bob, rita the reviewer, alex the
# approver, root the superuser) may process the form of each kind of assignment.
WHO_MAY_PROCESS = [
    (Unassigned, {"ada", "bob", "rita", "alex", "root"}),
    (ForAda, {"ada", "root"}),
    (ForReviewers, {"rita", "root"}),
    (ForApprovers, {"alex", "root"}),
]


def make_user(username, *, superuser=False, staff=False, groups=(), permissions=()):
    """Create an active user with a password, groups (created as needed) and permissions."""
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    user.is_superuser, user.is_staff = superuser, staff or superuser
    user.save()
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def open_task(automation) -> AutomationTaskModel:
    """Return the one open task of ``automation``."""
    return AutomationTaskModel.objects.select_related("automation").get(
        automation_id=automation.id, finished=None
    )


class Templated(flow.Automation):
    """A form with its own template and context layers."""

    context = {"color": "automation", "shape": "automation"}

    ask = flow.Form(
        ApprovalForm,
        template_name="approvals/custom_form.html",
        success_url="automations:dashboard",
        context={"color": "node"},
    ).User(username="ada")
    end = flow.End()


class Dashboarded(flow.Automation):
    """An automation with its own dashboard item and context."""

    class Meta:
        verbose_name = "Dashboarded"
        dashboard_template = "approvals/dashboard_item.html"

    start = flow.Execute(lambda task: None)
    end = flow.End()

    @classmethod
    def get_dashboard_context(cls, queryset):
        return {"instances_seen": queryset.count()}


class Exploding(flow.Automation):
    """Two parallel paths; one fails with HTML in its message."""

    fork = flow.Split().Next("calm").Next("explode")
    calm = flow.Execute(lambda task: "calm").Next("meet")
    explode = flow.Execute("self.blow_up").Next("meet")
    meet = flow.Join()
    end = flow.End()

    def blow_up(self, task):
        secret = "secret-local-value"  # noqa: F841 - must never be shown
        raise ValueError("<script>alert('x')</script>")


class BrokenDashboard(flow.Automation):
    """Declares a dashboard template that does not exist."""

    class Meta:
        verbose_name_plural = "Broken dashboards"
        dashboard_template = "approvals/no_such_template.html"

    end = flow.End()
