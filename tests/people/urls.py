"""Urls for template tag tests: the automations urls plus a page with a page-view hook."""

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path

from automations.models import AutomationModel

PAGE = engines["django"].from_string(
    "{% load automations %}<p>Page</p>"
    "{% automation_hook automation_id 'viewed' 'tok' %}{% automation_task_list %}"
)


def hooked_page(request, automation_id):
    """Render the hook, then report whether the automation saw the message while the page rendered."""
    html = PAGE.render({"automation_id": automation_id}, request)
    seen = "seen" in AutomationModel.objects.get(pk=automation_id).data
    response = HttpResponse(html)
    response["X-Seen-While-Rendering"] = "yes" if seen else "no"
    return response


urlpatterns = [
    path("automations/", include("automations.urls")),
    path("hooked/<int:automation_id>/", hooked_page),
    path("admin/login/", lambda request: HttpResponse("login"), name="login"),
]
