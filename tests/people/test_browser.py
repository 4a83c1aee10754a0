"""A real browser: a task list page updates itself while an automation reaches and passes a form.

Drives Debian's chromium (headless) with Playwright against daphne serving the site in another
process. Skipped when chromium or Playwright is missing, except with ``ATM_REQUIRE_SERVICES=1``.
"""

import os
import shutil

import pytest
from django.db import connection, connections

from automations.models import AutomationModel
from tests.approvals.automations import ExpenseApproval
from tests.approvals.models import Expense
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page, running_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def chromium_or_skip():
    """Return Playwright's ``sync_playwright``; skip (or fail in CI) if the browser cannot run."""
    problems = []
    if not os.path.exists(CHROMIUM):
        problems.append("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problems.append("playwright is not installed")
    if problems:
        message = "; ".join(problems)
        if os.environ.get("ATM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Browser test required but {message}.")
        pytest.skip(message)
    return sync_playwright


@pytest.fixture
def browser(monkeypatch):
    sync_playwright = chromium_or_skip()
    # Playwright's sync API keeps an event loop in this thread; Django's ORM must still be usable here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        # The ORM used next to Playwright's event loop opened connections of its own: close them.
        connections.close_all()
        browser.close()


@pytest.fixture
def server(transactional_db):
    with running_server(database_name=connection.settings_dict["NAME"]) as url:
        yield url


def test_the_task_list_follows_an_automation_without_reloading(browser, server):
    ada = make_user("ada")  # approves
    bob = make_user("bob")  # asks for the money
    list_page = logged_in_page(browser, server, ada, TIMEOUT_MS)
    list_page.goto(server + "/automations/tasks/")
    list_page.wait_for_selector('[data-atm-live="connected"]')
    assert list_page.locator("[data-atm-task]").count() == 0
    list_page.evaluate("window.notReloaded = true")

    automation = ExpenseApproval(requester="bob", approver="ada")

    # Bob enters the expense: the automation continues to Ada's approval, in the server.
    bob_page = logged_in_page(browser, server, bob, TIMEOUT_MS)
    bob_page.goto(server + "/automations/tasks/")
    bob_page.click("text=Enter your expense")
    bob_page.fill("input[name=title]", "Train to Hamburg")
    bob_page.fill("input[name=amount]", "89.90")
    bob_page.click("button[type=submit]")
    bob_page.wait_for_url(server + "/automations/tasks/")

    # Ada's list shows the new task without a reload.
    list_page.wait_for_selector("[data-atm-task] >> text=Approve the expense")
    assert list_page.evaluate("window.notReloaded") is True
    assert "Expense approval" in list_page.inner_text("[data-atm-task-list]")

    # Ada opens the task in a second tab and approves; the first tab's list empties by itself.
    task_page = list_page.context.new_page()
    task_page.set_default_timeout(TIMEOUT_MS)
    task_page.goto(server + list_page.get_attribute("[data-atm-task] a", "href"))
    task_page.check("input[name=approved]")
    task_page.click("button[type=submit]")
    task_page.wait_for_url(server + "/automations/tasks/")
    assert task_page.locator("[data-atm-task]").count() == 0

    list_page.wait_for_selector("[data-atm-task]", state="detached")
    list_page.wait_for_selector("text=You have no open tasks.")
    assert list_page.evaluate("window.notReloaded") is True

    model = AutomationModel.objects.get(pk=automation.id)
    assert model.finished and model.error == ""
    expense = Expense.objects.get()
    assert (expense.title, str(expense.amount), expense.approved) == ("Train to Hamburg", "89.90", True)
