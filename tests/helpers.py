"""Small helpers shared by the core tests."""

from automations.models import AutomationModel, AutomationTaskModel


def tasks(automation):
    """Return the task rows of ``automation`` (an Automation or an id) in creation order."""
    automation_id = automation if isinstance(automation, int) else automation.id
    return list(AutomationTaskModel.objects.filter(automation_id=automation_id).order_by("pk"))


def statuses(automation):
    """Return the node names ``automation`` has visited, in order."""
    return [task.status for task in tasks(automation)]


def open_statuses(automation):
    """Return the node names of ``automation``'s open tasks."""
    return [task.status for task in tasks(automation) if task.finished is None]


def row(automation):
    """Return the fresh ``AutomationModel`` row of ``automation``."""
    automation_id = automation if isinstance(automation, int) else automation.id
    return AutomationModel.objects.get(pk=automation_id)
