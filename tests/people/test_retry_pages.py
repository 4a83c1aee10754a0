"""Retries and deadlines as people see them: the instance page, its history, and the inbox."""

from datetime import timedelta

import pytest
from django.urls import reverse

from automations import flow
from automations.flow import this
from tests.approvals.forms import ApprovalForm
from tests.people.flows import make_user
from tests.people.test_instances_views import client_for

pytestmark = pytest.mark.django_db


class Unreachable(flow.Automation):
    call = flow.Execute(this.call_service).Retry(attempts=5, backoff=timedelta(minutes=2))
    end = flow.End()

    def call_service(self, task):
        raise ConnectionError("service unreachable")


class Signoff(flow.Automation):
    sign = flow.Form(ApprovalForm, description="Sign off").User(username="ada").Deadline(hours=3)
    end = flow.End()


def test_the_instance_page_says_which_attempt_comes_next_and_when(clock):
    unreachable = Unreachable()
    page = client_for(make_user("root", superuser=True)).get(
        reverse("automations:instance", args=[unreachable.id])
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "attempt 2 of 5, next at 2030-01-07 10:02:00" in text  # 09:02 UTC in the site's time zone
    assert "ConnectionError(&#x27;service unreachable&#x27;)" in text
    assert "waiting for time" in text  # the instance's status


def test_the_inbox_and_the_instance_page_show_the_deadline(clock):
    ada = make_user("ada", superuser=True)
    signoff = Signoff()
    client = client_for(ada)
    inbox = client.get(reverse("automations:task_list")).content.decode()
    assert "due in 3 hours" in inbox
    page = client.get(reverse("automations:instance", args=[signoff.id])).content.decode()
    assert "deadline: due in 3 hours (2030-01-07 13:00:00)" in page


def test_the_instances_list_says_which_attempt_comes_next():
    Unreachable()
    page = client_for(make_user("root", superuser=True)).get(reverse("automations:instances"))
    assert "(attempt 2 of 5)" in page.content.decode()
