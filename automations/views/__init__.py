"""Views of Django Automations; their urls are in :mod:`automations.urls` (namespace ``automations``)."""

from .monitoring import AutomationErrorsView, AutomationHistoryView, AutomationTracebackView, DashboardView
from .worklist import TaskListView, TaskView

__all__ = [
    "AutomationErrorsView",
    "AutomationHistoryView",
    "AutomationTracebackView",
    "DashboardView",
    "TaskListView",
    "TaskView",
]
