"""A real browser on the start menu: from the navigation to a started instance.

Uses the Playwright + Debian chromium setup of ``test_browser.py`` (skipped without them, except
with ``ATM_REQUIRE_SERVICES=1``). The live server knows the automations of installed apps: the
demo's expense approval is startable by members of Employees.
"""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from automations.models import AutomationModel
from demo.automations import ExpenseApproval
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_the_start_menu(browser, server):  # noqa: F811
    erin = make_user("erin", groups=["Employees"])
    make_user("manager", groups=["Managers"])  # whom the claim goes to
    erin.user_permissions.add(Permission.objects.get(codename="view_automationmodel"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = logged_in_page(browser, server, erin, TIMEOUT_MS)

    page.goto(server + "/automations/tasks/")
    page.click(".atm-nav >> text=Start")
    page.wait_for_url(server + "/automations/start/")
    assert page.inner_text("h1") == "Start an automation"
    entry = page.locator(f'[data-atm-start="{ExpenseApproval.get_automation_class_name()}"]')
    assert "Claim an expense" in entry.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "start-menu.png"), full_page=True)

    entry.locator(".atm-button").click()
    assert page.inner_text("h1") == "Start: Expense approval"
    page.evaluate("document.querySelector('main form').noValidate = true")  # past the browser's check
    page.fill("input[name=amount]", "0")
    page.fill("input[name=purpose]", "Train to Hamburg")
    page.click("main button[type=submit]")
    page.wait_for_selector(".errorlist")
    assert "greater than or equal to 0.01" in page.inner_text("main")
    assert page.input_value("input[name=purpose]") == "Train to Hamburg"  # the input is kept
    assert not AutomationModel.objects.filter(
        automation_class=ExpenseApproval.get_automation_class_name()
    ).exists()

    page.fill("input[name=amount]", "89.90")
    page.screenshot(path=str(SCREENSHOTS / "start-form.png"), full_page=True)
    page.click("main button[type=submit]")
    # The claim waits for a manager, not for Erin; she may see instances, so she lands on the new one.
    page.wait_for_url(server + "/automations/instances/*/")
    [model] = AutomationModel.objects.filter(automation_class=ExpenseApproval.get_automation_class_name())
    assert page.url == server + f"/automations/instances/{model.pk}/"
    assert f"Expense approval #{model.pk} was started." in page.inner_text(".atm-messages")
    assert "Train to Hamburg" in page.inner_text("main")
    page.screenshot(path=str(SCREENSHOTS / "start-done.png"), full_page=True)
    assert model.data == {"amount": "89.90", "purpose": "Train to Hamburg", "requester": erin.pk}
