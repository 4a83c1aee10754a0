"""Views of Django Automations; their urls are in :mod:`automations.urls` (namespace ``automations``)."""

from .diagram import AutomationDiagramView, InstanceDiagramView
from .monitoring import AutomationErrorsView, AutomationHistoryView, AutomationTracebackView, DashboardView
from .worklist import TaskListView, TaskView

__all__ = [
    "AutomationDiagramView",
    "AutomationErrorsView",
    "AutomationHistoryView",
    "AutomationTracebackView",
    "DashboardView",
    "InstanceDiagramView",
    "TaskListView",
    "TaskView",
]
