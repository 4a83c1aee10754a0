"""The settings page in a real browser: a user names a substitute, who sees the task live, and ends it.

Uses the Playwright + Debian chromium setup of ``test_browser.py``; screenshots of the page at a
desktop's and a phone's width land in ``var/screenshots/``.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from automations.models import AutomationTaskModel, Delegation
from tests.approvals.automations import ExpenseApproval
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures
from tests.people.test_handover_browser import in_section, inbox_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_a_user_names_a_substitute_who_sees_the_task_live_until_it_ends(browser, server):  # noqa: F811
    ada, bob = make_user("ada"), make_user("bob")
    make_user("root", superuser=True)
    ExpenseApproval(requester="ada", approver="root")
    task = AutomationTaskModel.objects.get(finished=None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    his = inbox_of(browser, server, bob)
    assert his.locator(f'[data-atm-task="{task.pk}"]').count() == 0

    hers = logged_in_page(browser, server, ada, TIMEOUT_MS)
    hers.goto(server + "/automations/tasks/")
    hers.click("text=My settings")
    hers.wait_for_url(server + "/automations/tasks/settings/")
    until = timezone.localtime() + timedelta(days=14)  # the server's time zone is the tests'
    hers.fill("input[name=away-ends]", until.strftime("%Y-%m-%dT%H:%M"))
    hers.fill("input[name=away-substitute]", "bob")
    hers.click("button[name=away]")
    hers.wait_for_selector("text=bob stands in for you.")
    assert "bob" in hers.inner_text("[data-atm-settings=away] table")
    hers.set_viewport_size({"width": 1280, "height": 900})
    hers.screenshot(path=str(SCREENSHOTS / "my-settings-desktop.png"), full_page=True)
    hers.set_viewport_size({"width": 390, "height": 844})
    hers.screenshot(path=str(SCREENSHOTS / "my-settings-phone.png"), full_page=True)
    assert hers.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    his.wait_for_selector(in_section("mine", task.pk))  # live, over the inbox's socket
    assert "for ada" in his.inner_text(f'[data-atm-task="{task.pk}"]')

    hers.click("button:has-text('End now')")
    hers.wait_for_selector("text=bob no longer stands in for ada.")
    his.wait_for_selector(f'[data-atm-task="{task.pk}"]', state="detached")
    assert Delegation.objects.get().ends <= timezone.now()


def test_a_mistake_shows_on_the_form_and_keeps_the_input(browser, server):  # noqa: F811
    ada = make_user("ada")
    page = logged_in_page(browser, server, ada, TIMEOUT_MS)
    page.goto(server + "/automations/tasks/settings/")
    until = timezone.localtime() + timedelta(days=3)
    page.fill("input[name=away-ends]", until.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=away-substitute]", "nobody")
    page.click("button[name=away]")
    page.wait_for_selector("text=There is no active user nobody.")
    assert page.input_value("input[name=away-substitute]") == "nobody"
    assert page.input_value("input[name=away-ends]") == until.strftime("%Y-%m-%dT%H:%M")
    page.screenshot(path=str(SCREENSHOTS / "my-settings-error.png"), full_page=True)
    assert not Delegation.objects.exists()
