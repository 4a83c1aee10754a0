"""A second browser sees an instance change: its page (badge, actions, history, diagram) and the lists.

Uses the Playwright + Debian chromium setup of ``test_browser.py``. The changes are made in the
server (a person acting in another browser), so the pages hear of them over their sockets.
"""

from pathlib import Path

import pytest

from automations.models import AutomationModel
from tests.approvals.automations import ExpenseApproval
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def cancel_in(page, base_url, automation_id, reason):
    page.goto(base_url + f"/automations/instances/{automation_id}/cancel/")
    page.fill("textarea[name=reason]", reason)
    page.click("text=Yes, do it")
    page.wait_for_url(base_url + f"/automations/instances/{automation_id}/")


def test_a_second_browser_sees_the_whole_instance_page_change_together(browser, server):  # noqa: F811
    make_user("ada")
    watcher = make_user(
        "vic", permissions=["automations.view_automationmodel", "automations.change_automationmodel"]
    )
    boss = make_user("root", superuser=True)
    automation = ExpenseApproval(requester="ada", approver="root")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = logged_in_page(browser, server, watcher, TIMEOUT_MS)
    page.goto(server + f"/automations/instances/{automation.id}/")
    page.wait_for_selector('[data-atm-diagram][data-atm-live="connected"]')
    assert "waiting for a person" in page.inner_text("h1")
    assert page.locator(".atm-actions >> text=Cancel").count() == 1
    page.evaluate("window.notReloaded = true")

    cancel_in(logged_in_page(browser, server, boss, TIMEOUT_MS), server, automation.id, "Booked twice.")

    page.wait_for_function("document.querySelector('h1').innerText.includes('cancelled')")
    assert page.locator(".atm-actions >> text=Cancel").count() == 0  # no action applies any more
    assert "Cancelled by root: Booked twice." in page.inner_text("[data-atm-part=history]")
    assert "Cancelled by root: Booked twice." in page.inner_text("[data-atm-part=positions]")
    assert "Cancelled at enter." in page.inner_text("[data-atm-diagram-status]")
    assert page.get_attribute("[data-atm-instance-page]", "data-atm-state") == "cancelled"
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(SCREENSHOTS / "instance-page-live.png"), full_page=True)


def test_the_instances_list_and_the_dashboard_follow_without_reloading(browser, server):  # noqa: F811
    make_user("ada")
    boss = make_user("root", superuser=True)
    automation = ExpenseApproval(requester="ada", approver="root")
    connected = '[data-atm-console-socket][data-atm-live="connected"]'
    lists = {}
    for path in ("/automations/instances/", "/automations/dashboard/"):
        lists[path] = logged_in_page(browser, server, boss, TIMEOUT_MS)
        lists[path].goto(server + path)
        lists[path].wait_for_selector(connected, state="attached")
        lists[path].evaluate("window.notReloaded = true")
    row = f'[data-atm-instance="{automation.id}"]'
    assert "waiting for a person" in lists["/automations/instances/"].inner_text(row)

    cancel_in(logged_in_page(browser, server, boss, TIMEOUT_MS), server, automation.id, "Test data.")

    instances = lists["/automations/instances/"]
    instances.wait_for_function(f"document.querySelector('{row}').innerText.includes('cancelled')")
    dashboard = lists["/automations/dashboard/"]
    dashboard.wait_for_selector("#atm-dashboard-live >> text=1 cancelled")
    for page in lists.values():
        assert page.evaluate("window.notReloaded") is True
    assert AutomationModel.objects.get(pk=automation.id).status == "cancelled"
    instances.screenshot(path=str(SCREENSHOTS / "instances-live.png"), full_page=True)
