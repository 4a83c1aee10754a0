"""Log lines that show values from outside stay one bounded line each.

Class paths stored with an instance may come from other services' events, messages and keys from
requests: a newline in them must not start a forged log line of its own.
"""

import logging

import pytest
from django.test import RequestFactory
from django.utils import timezone

from automations import page_views
from automations.models import AutomationModel

pytestmark = pytest.mark.django_db

FORGED = "gone.Automation\nCRITICAL django.security: admin logged in from 10.0.0.1"


def assert_one_bounded_line_each(records, limit=1000):
    assert records
    for record in records:
        text = record.getMessage()
        assert "\n" not in text and "\r" not in text, text
        assert len(text) <= limit, len(text)


def test_an_unknown_stored_class_path_is_logged_on_one_line(caplog):
    AutomationModel.objects.create(automation_class=(FORGED + "x" * 300)[:256], wake_at=timezone.now())
    with caplog.at_level(logging.INFO, logger="automations"):
        AutomationModel.run()
    assert_one_bounded_line_each([r for r in caplog.records if "stopped" in r.getMessage()])


def test_a_page_view_key_is_logged_on_one_line(caplog):
    request = RequestFactory().get("/", {"key": FORGED})
    with caplog.at_level(logging.INFO, logger="automations"):
        assert page_views.page_viewed(request, request.GET["key"], "viewed") is False
        assert page_views.page_viewed(request, {"key": FORGED * 100}, "viewed") is False
    assert_one_bounded_line_each(caplog.records)
