"""A form task whose node a deploy renamed works at once, before any step has moved it.

The task row stores the old name until the instance's next step renames it (``Meta.renamed_nodes``).
A form task waits for a person, so it is not due: until a worker starts and wakes it, the task
list, its description, the form page and the submission find the node by its old name through
``registry.node_name``.
"""

import pytest
from django import forms
from django.contrib.auth.models import User
from django.urls import reverse

from automations import flow, registry, testing
from automations.flow import this
from automations.models import AutomationTaskModel
from automations.tasklist.queries import open_tasks_for
from automations.templatetags.automations import task_description
from automations.views.node_labels import node_label

pytestmark = pytest.mark.django_db


class Approval(forms.Form):
    approved = forms.BooleanField(required=False)


def declare(release):
    """Declare ``Request`` as ``release``: "v1" asks at ``ask``, "v2" renames it ``approve``."""
    if release == "v1":

        class Request(flow.Automation):
            __module__, __qualname__ = __name__, "Request"

            ask = flow.Form(Approval, description="Approve the request")
            note = flow.Execute(this.record)
            end = flow.End()

            def record(self, task):
                self.data["noted"] = "v1"

        return Request

    class Request(flow.Automation):  # noqa: F811 - the next release of the same class
        __module__, __qualname__ = __name__, "Request"

        class Meta:
            version = 2
            renamed_nodes = {"ask": "approve"}

        approve = flow.Form(Approval, description="Approve the request, renamed")
        note = flow.Execute(this.record)
        end = flow.End()

        def record(self, task):
            self.data["noted"] = "v2"

    return Request


def test_a_renamed_form_is_listed_shown_and_taken_before_a_step_renames_its_task(client):
    person = User.objects.create_user("robin", password="pw")
    with testing.restored_registry():
        request = declare("v1")()
        task = AutomationTaskModel.objects.get(automation_id=request.id, finished=None)
        assert task.status == "ask"
        v2 = declare("v2")  # deployed; no worker has swept yet
        assert registry.node_name(v2, "ask") == "approve" and registry.node_name(v2, "gone") is None
        task.refresh_from_db()
        assert task.status == "ask"

        assert list(open_tasks_for(person)) == [task]
        assert task_description(task) == "Approve the request, renamed"
        assert node_label(v2, "ask").text == "Approve the request, renamed"
        client.force_login(person)
        page = client.get(reverse("automations:task", args=[task.pk]))
        assert page.status_code == 200
        assert "Approve the request, renamed" in page.content.decode()

        testing.submit(task, {"approved": "on"}, user=person)
        request = v2(automation_id=request.id)
        assert request.finished() and request.data["noted"] == "v2"
        visited = AutomationTaskModel.objects.filter(automation_id=request.id).order_by("pk")
        assert [t.status for t in visited] == ["approve", "note", "end"]  # the same task row, renamed
        assert open_tasks_for(person).count() == 0
