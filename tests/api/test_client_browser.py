"""The example client (docs/api-client.html) in a real browser: it lists tasks live and submits them.

Two people work through an expense approval with nothing but the example page: the JSON API over
fetch, and the task-list socket in its JSON format. Screenshots land in ``var/screenshots/api/``.
"""

from pathlib import Path

import pytest

from automations.models import AutomationModel
from tests.approvals.automations import ExpenseApproval
from tests.approvals.models import Expense
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "api"
CLIENT = "/automations/api/client/"


def open_client(browser, server, user):  # noqa: F811 - the fixtures' names
    page = logged_in_page(browser, server, user, TIMEOUT_MS)
    page.goto(server + CLIENT)
    page.wait_for_selector("body[data-live=connected]")
    return page


def test_the_example_client_lists_and_submits_tasks(browser, server):  # noqa: F811 - fixtures
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ada, bob = make_user("ada"), make_user("bob")
    ada_page = open_client(browser, server, ada)
    ada_page.wait_for_selector("text=You have no open tasks.")
    ada_page.evaluate("window.notReloaded = true")

    automation = ExpenseApproval(requester="bob", approver="ada")

    # Bob's page lists his task; its form is built from the schema; the server's errors show by the field.
    bob_page = open_client(browser, server, bob)
    bob_page.click("li[data-task] >> text=Enter your expense")
    bob_page.wait_for_selector("#field-title")
    bob_page.fill("#field-amount", "89.90")
    bob_page.click("button[type=submit]")
    bob_page.wait_for_selector("[data-wrapper=title] .error")
    assert "required" in bob_page.inner_text("[data-wrapper=title] .error")
    assert bob_page.get_attribute("#field-title", "aria-invalid") == "true"
    bob_page.screenshot(path=str(SCREENSHOTS / "client-errors.png"), full_page=True)
    bob_page.fill("#field-title", "Train to Hamburg")
    bob_page.click("button[type=submit]")
    bob_page.wait_for_selector("#status[data-kind=done]")
    bob_page.wait_for_selector("text=You have no open tasks.")

    # Ada's page shows the approval without a reload (the socket's JSON), and she approves it.
    ada_page.wait_for_selector("li[data-task] >> text=Approve the expense")
    assert ada_page.evaluate("window.notReloaded") is True
    assert "Expense approval" in ada_page.inner_text("#tasks")
    ada_page.click("li[data-task] >> text=Approve the expense")
    ada_page.wait_for_selector("#field-approved")
    ada_page.screenshot(path=str(SCREENSHOTS / "client-task.png"), full_page=True)
    ada_page.check("#field-approved")
    ada_page.fill("#field-comment", "Fine.")
    ada_page.click("button[type=submit]")
    ada_page.wait_for_selector("#status[data-kind=done]")
    ada_page.wait_for_selector("text=You have no open tasks.")
    ada_page.screenshot(path=str(SCREENSHOTS / "client-done.png"), full_page=True)
    assert ada_page.evaluate("window.notReloaded") is True

    model = AutomationModel.objects.get(pk=automation.id)
    assert model.finished and model.data["approve"] == {"approved": True, "comment": "Fine."}
    expense = Expense.objects.get()
    assert (expense.title, str(expense.amount), expense.approved) == ("Train to Hamburg", "89.90", True)
