"""Urls of Django Automations: ``path("automations/", include("automations.urls"))``.

=====================  =========================================  ===============================
name                   path (below the include)                   view
=====================  =========================================  ===============================
``task_list``          ``tasks/``                                 :class:`TaskListView`
``task``               ``tasks/<task_id>/``                       :class:`TaskView`
``my_settings``        ``tasks/settings/``                        :class:`MySettingsView`
``end_delegation``     ``tasks/settings/delegations/<pk>/end/``   :class:`EndDelegationView`
``dashboard``          ``dashboard/``                             :class:`DashboardView`
``errors``             ``errors/``                                :class:`AutomationErrorsView`
``history``            ``<automation_id>/history/``               :class:`AutomationHistoryView`
``traceback``          ``<automation_id>/traceback/<task_id>/``   :class:`AutomationTracebackView`
``diagram``            ``diagram/<class_path>/``                  :class:`AutomationDiagramView`
``instance_diagram``   ``<automation_id>/diagram/``               :class:`InstanceDiagramView`
``instances``          ``instances/``                             :class:`InstanceListView`
``instance``           ``instances/<pk>/``                        :class:`InstanceView`
``instance_action``    ``instances/<pk>/<action>/``               :class:`InstanceActionView`
``bulk_action``        ``instances/bulk/<action>/``               :class:`BulkActionView`
``start_menu``         ``start/``                                 :class:`StartMenuView`
``start``              ``start/<class_path>/``                    :class:`StartView`
``error_report``       ``errors/``                                0.9's name of ``errors``
=====================  =========================================  ===============================

The paths of django-automations 0.9 redirect to these pages (see :data:`legacy_urlpatterns`), so
that links it sent, e.g. a task's in an e-mail, keep working; its URL names all reverse.
"""

from django.urls import path
from django.views.generic import RedirectView

from automations import views

app_name = "automations"


def _moved(pattern_name: str, *, permanent: bool = True):
    """Return a view that redirects to the page ``pattern_name``, keeping the URL's arguments and query."""
    name = f"{app_name}:{pattern_name}"
    return RedirectView.as_view(pattern_name=name, permanent=permanent, query_string=True)


# django-automations 0.9's paths, without a trailing slash (its name error_report is in urlpatterns).
# The task list at the prefix itself redirects temporarily: the prefix may get a page of its own, and
# browsers keep a permanent redirect for good. The other old paths will never mean anything else.
legacy_urlpatterns = [
    path("", _moved("task_list", permanent=False)),
    path("<int:task_id>", _moved("task")),
    path("errors", _moved("errors")),
    path("dashboard", _moved("dashboard")),
    path("dashboard/<int:automation_id>", _moved("history")),
    path("dashboard/<int:automation_id>/traceback/<int:task_id>", _moved("traceback")),
]

urlpatterns = [
    path("tasks/", views.TaskListView.as_view(), name="task_list"),
    path("tasks/<int:task_id>/", views.TaskView.as_view(), name="task"),
    path("tasks/actions/", views.TaskActionsView.as_view(), name="task_actions"),
    path("tasks/settings/", views.MySettingsView.as_view(), name="my_settings"),
    path(
        "tasks/settings/delegations/<int:pk>/end/",
        views.EndDelegationView.as_view(),
        name="end_delegation",
    ),
    path("tasks/<int:task_id>/reassign/", views.TaskReassignView.as_view(), name="task_reassign"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("errors/", views.AutomationErrorsView.as_view(), name="errors"),
    path("<int:automation_id>/history/", views.AutomationHistoryView.as_view(), name="history"),
    path("instances/", views.InstanceListView.as_view(), name="instances"),
    path("instances/<int:pk>/", views.InstanceView.as_view(), name="instance"),
    path("instances/bulk/tasks/<slug:action>/", views.BulkHandoverView.as_view(), name="bulk_handover"),
    path("instances/bulk/<slug:action>/", views.BulkActionView.as_view(), name="bulk_action"),
    path("instances/<int:pk>/<slug:action>/", views.InstanceActionView.as_view(), name="instance_action"),
    path(
        "<int:automation_id>/traceback/<int:task_id>/",
        views.AutomationTracebackView.as_view(),
        name="traceback",
    ),
    path("diagram/<str:class_path>/", views.AutomationDiagramView.as_view(), name="diagram"),
    path("start/", views.StartMenuView.as_view(), name="start_menu"),
    path("start/<str:class_path>/", views.StartView.as_view(), name="start"),
    path("<int:automation_id>/diagram/", views.InstanceDiagramView.as_view(), name="instance_diagram"),
    path("errors/", views.AutomationErrorsView.as_view(), name="error_report"),  # 0.9's name of errors
    *legacy_urlpatterns,
]
