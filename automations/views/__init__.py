"""Views of Django Automations; their urls are in :mod:`automations.urls` (namespace ``automations``)."""

from .instances import InstanceActionView, InstanceListView, InstanceView
from .monitoring import AutomationErrorsView, AutomationHistoryView, AutomationTracebackView, DashboardView
from .tasks import TaskListView, TaskView

__all__ = [
    "AutomationErrorsView",
    "AutomationHistoryView",
    "AutomationTracebackView",
    "DashboardView",
    "InstanceActionView",
    "InstanceListView",
    "InstanceView",
    "TaskListView",
    "TaskView",
]
