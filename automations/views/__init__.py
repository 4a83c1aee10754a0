"""Views of Django Automations; their urls are in :mod:`automations.urls` (namespace ``automations``)."""

from .bulk import BulkActionView
from .diagram import AutomationDiagramView, InstanceDiagramView
from .instances import InstanceActionView, InstanceListView, InstanceView
from .monitoring import AutomationErrorsView, AutomationHistoryView, AutomationTracebackView, DashboardView
from .start import StartMenuView, StartView
from .worklist import TaskListView, TaskView

__all__ = [
    "AutomationDiagramView",
    "AutomationErrorsView",
    "AutomationHistoryView",
    "AutomationTracebackView",
    "BulkActionView",
    "DashboardView",
    "InstanceDiagramView",
    "InstanceActionView",
    "InstanceListView",
    "InstanceView",
    "StartMenuView",
    "StartView",
    "TaskListView",
    "TaskView",
]
