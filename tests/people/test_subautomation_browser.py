"""A real browser on the instance pages of a parent and its sub-automation: the links both ways.

Uses the Playwright + Debian chromium setup of ``test_browser.py`` (skipped without them, except
with ``ATM_REQUIRE_SERVICES=1``).
"""

from pathlib import Path

import pytest

from automations.models import AutomationModel
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures
from tests.test_subautomations import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_the_parent_and_the_child_link_each_other(browser, server):  # noqa: F811
    root = make_user("chief", staff=True, superuser=True)
    order = Order(total=30)
    child = AutomationModel.objects.get(parent_id=order.id)
    page = logged_in_page(browser, server, root, TIMEOUT_MS)
    page.goto(f"{server}/automations/instances/{order.id}/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "instance-with-sub-automation.png"), full_page=True)
    page.click(f".atm-facts a[href='/automations/instances/{child.pk}/']")
    page.wait_for_url(f"**/automations/instances/{child.pk}/")
    assert "Started by" in page.inner_text(".atm-facts")
    page.screenshot(path=str(SCREENSHOTS / "sub-automation-instance.png"), full_page=True)
    page.click(f".atm-facts a[href='/automations/instances/{order.id}/']")
    page.wait_for_url(f"**/automations/instances/{order.id}/")
