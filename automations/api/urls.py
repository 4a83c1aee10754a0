"""Urls of the JSON API: ``path("automations/api/", include("automations.api.urls"))``.

======================  ======================================  =======================================
name                    path (below the include)                what
======================  ======================================  =======================================
``tasks``               ``tasks/``                              the user's inbox (GET)
``task``                ``tasks/<task_id>/``                    one task with its form's schema (GET)
``task_submit``         ``tasks/<task_id>/submit/``             submit the task's form (POST)
``task_<hand-over>``    ``tasks/<task_id>/<hand-over>/``        claim, unassign, reassign, snooze, wake
``delegations``         ``delegations/``                        yours (GET), a new one (POST)
``delegation_end``      ``delegations/<delegation_id>/end/``    end one (POST)
``instances``           ``instances/``                          instances, filtered (GET)
``instance``            ``instances/<instance_id>/``                     one instance (GET)
``instance_<action>``   ``instances/<instance_id>/<action>/``            wake, retry, cancel, message (POST)
``automations``         ``automations/``                        the classes the user may start (GET)
``start``               ``automations/<class_path>/start/``     start one (POST)
``token``               ``token/``                              a token for a user name and password
``schema``              ``schema/``                             the OpenAPI 3 schema (GET)
======================  ======================================  =======================================

The namespace is ``automations_api``. ``token`` is there when ``rest_framework.authtoken`` is installed.
"""

from django.apps import apps
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import handover, instances, start, tasks

app_name = "automations_api"

urlpatterns = [
    path("tasks/", tasks.InboxView.as_view(), name="tasks"),
    path("tasks/<int:task_id>/", tasks.TaskDetailView.as_view(), name="task"),
    path("tasks/<int:task_id>/submit/", tasks.SubmitView.as_view(), name="task_submit"),
    path("tasks/<int:task_id>/claim/", handover.ClaimView.as_view(), name="task_claim"),
    path("tasks/<int:task_id>/unassign/", handover.UnassignView.as_view(), name="task_unassign"),
    path("tasks/<int:task_id>/reassign/", handover.ReassignView.as_view(), name="task_reassign"),
    path("tasks/<int:task_id>/snooze/", handover.SnoozeView.as_view(), name="task_snooze"),
    path("tasks/<int:task_id>/wake/", handover.WakeTaskView.as_view(), name="task_wake"),
    path("delegations/", handover.DelegationListView.as_view(), name="delegations"),
    path("delegations/<int:delegation_id>/end/", handover.EndDelegationView.as_view(), name="delegation_end"),
    path("instances/", instances.InstanceListView.as_view(), name="instances"),
    path("instances/<int:instance_id>/", instances.InstanceDetailView.as_view(), name="instance"),
    path("instances/<int:instance_id>/wake/", instances.WakeView.as_view(), name="instance_wake"),
    path("instances/<int:instance_id>/retry/", instances.RetryView.as_view(), name="instance_retry"),
    path("instances/<int:instance_id>/cancel/", instances.CancelView.as_view(), name="instance_cancel"),
    path("instances/<int:instance_id>/message/", instances.MessageView.as_view(), name="instance_message"),
    path("automations/", start.StartableListView.as_view(), name="automations"),
    path("automations/<str:class_path>/start/", start.StartView.as_view(), name="start"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

if apps.is_installed("rest_framework.authtoken"):
    from .token import TokenView  # needs the authtoken app's models

    urlpatterns.append(path("token/", TokenView.as_view(), name="token"))
