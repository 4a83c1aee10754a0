"""A real browser sends a message from the console: chooses the receiver, forgets a parameter, is told
which one with everything typed kept, and sends it.

Uses the Playwright + Debian chromium setup of ``test_browser.py`` (skipped without them, except
with ``ATM_REQUIRE_SERVICES=1``).
"""

from pathlib import Path

import pytest

from automations.models import AuditEntry
from demo.automations import TrialJourney
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHANGE = ["automations.view_automationmodel", "automations.change_automationmodel"]


def test_a_message_with_a_missing_parameter_is_named_kept_and_then_sent(browser, server):  # noqa: F811
    operator = make_user("olga", staff=True, permissions=CHANGE)
    journey = TrialJourney(customer=make_user("kim"), reminder_seconds=3600)
    page = logged_in_page(browser, server, operator, TIMEOUT_MS)
    page.goto(f"{server}/automations/instances/{journey.id}/")
    page.click("text=Send a message…")
    page.wait_for_url(f"{server}/automations/instances/{journey.id}/message/")
    assert "Which message?" in page.inner_text("main")
    assert "Note that the customer bought" in page.inner_text(".atm-receivers")

    page.click(".atm-receivers >> text=Converted")
    page.click("summary")  # token and more data are folded away
    page.fill("input[name=token]", "phone-call")
    page.fill("textarea[name=data]", '{"note": "ordered by phone"}')
    page.click("text=Send the message")
    error = page.locator(".errorlist").inner_text()
    assert "The data lacks the parameter “plan” that receive_converted requires." in error
    assert page.input_value("input[name=token]") == "phone-call"  # nothing typed is lost
    assert page.input_value("textarea[name=data]") == '{"note": "ordered by phone"}'
    assert page.locator("input[name=parameter_plan]").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "message-missing-parameter.png"), full_page=True)

    page.fill("input[name=parameter_plan]", "team")
    page.click("text=Send the message")
    page.wait_for_url(f"{server}/automations/instances/{journey.id}/")
    assert "Message “converted” sent to instance" in page.inner_text(".atm-messages")
    entry = AuditEntry.objects.get(automation_id=journey.id, action="message")
    assert entry.details["data"] == {"note": "ordered by phone", "plan": "team"}
    assert entry.details["token"] == "phone-call"
