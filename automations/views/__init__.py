"""Views of Django Automations; their urls are in :mod:`automations.urls` (namespace ``automations``)."""

from .bulk import BulkActionView
from .diagram import AutomationDiagramView, InstanceDiagramView
from .handover import BulkHandoverView, TaskActionsView, TaskReassignView
from .instances import InstanceActionView, InstanceListView, InstanceView
from .monitoring import AutomationErrorsView, AutomationHistoryView, AutomationTracebackView, DashboardView
from .own_settings import EndDelegationView, MySettingsView
from .start import StartMenuView, StartView
from .worklist import TaskListView, TaskView

__all__ = [
    "AutomationDiagramView",
    "AutomationErrorsView",
    "AutomationHistoryView",
    "AutomationTracebackView",
    "BulkActionView",
    "BulkHandoverView",
    "DashboardView",
    "EndDelegationView",
    "InstanceDiagramView",
    "InstanceActionView",
    "InstanceListView",
    "InstanceView",
    "MySettingsView",
    "StartMenuView",
    "StartView",
    "TaskActionsView",
    "TaskListView",
    "TaskReassignView",
    "TaskView",
]
