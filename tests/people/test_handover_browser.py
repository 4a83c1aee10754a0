"""Hand-over in a real browser: claim, hand over, snooze and a substitute, seen live by colleagues.

Uses the Playwright + Debian chromium setup of ``test_browser.py``. The hand-overs are made in the
server (by a person's clicks), so the other pages hear of them over their sockets.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from automations import handover
from automations.models import AuditEntry, AutomationTaskModel
from tests.approvals.automations import ExpenseApproval, TeamReview
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MANAGER = {"groups": ["Reviewers"], "permissions": ["approvals.approve_expense"]}


def inbox_of(browser, server, user):  # noqa: F811
    page = logged_in_page(browser, server, user, TIMEOUT_MS)
    page.goto(server + "/automations/tasks/")
    page.wait_for_selector('[data-atm-task-list][data-atm-live="connected"]')
    return page


def in_section(name, task_id) -> str:
    return f'[data-atm-section="{name}"] [data-atm-task="{task_id}"]'


def test_a_claim_leaves_the_colleague_s_queue_live_and_a_hand_over_reaches_them(browser, server):  # noqa: F811
    mia, max_ = make_user("mia", **MANAGER), make_user("max", **MANAGER)
    TeamReview()
    task = AutomationTaskModel.objects.get(finished=None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    hers, his = inbox_of(browser, server, mia), inbox_of(browser, server, max_)
    his.wait_for_selector(in_section("queue", task.pk))
    his.evaluate("window.notReloaded = true")

    hers.click(f'button[value="claim {task.pk}"]')
    hers.wait_for_selector(in_section("mine", task.pk))
    assert "1 task claimed." in hers.inner_text("body")
    his.wait_for_selector(f'[data-atm-task="{task.pk}"]', state="detached")
    assert "You have no open tasks." in his.inner_text("[data-atm-task-list]")
    assert his.evaluate("window.notReloaded") is True
    hers.screenshot(path=str(SCREENSHOTS / "handover-claimed.png"), full_page=True)
    stale = his.context.new_page()  # Max follows an old link to the task
    stale.goto(server + f"/automations/tasks/{task.pk}/")
    assert "mia has taken this task" in stale.inner_text("[role=alert]")
    assert stale.locator("button[type=submit]").is_disabled()
    stale.screenshot(path=str(SCREENSHOTS / "handover-taken.png"), full_page=True)
    stale.close()

    hers.click(f'[data-atm-task="{task.pk}"] >> text=Hand over…')
    hers.fill("input[name=username]", "max")
    hers.screenshot(path=str(SCREENSHOTS / "handover-page.png"), full_page=True)
    hers.click("button[type=submit] >> text=Hand over")
    hers.wait_for_selector("text=handed to max")
    his.wait_for_selector(in_section("mine", task.pk))
    assert his.evaluate("window.notReloaded") is True
    his.screenshot(path=str(SCREENSHOTS / "handover-received.png"), full_page=True)
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["claim", "reassign"]


def test_a_snoozed_task_is_put_aside_and_comes_back_by_itself(browser, server):  # noqa: F811
    mia = make_user("mia", **MANAGER)
    TeamReview()
    task = AutomationTaskModel.objects.get(finished=None)
    page = inbox_of(browser, server, mia)
    # Far enough ahead that a slow machine still posts and shows the snooze before it ends (the
    # form takes whole seconds); the server's time zone is the tests'.
    soon = timezone.localtime() + timedelta(seconds=10)
    page.fill("input[name=until]", soon.strftime("%Y-%m-%dT%H:%M:%S"))
    page.click(f'button[value="snooze {task.pk}"]')
    page.wait_for_selector(in_section("snoozed", task.pk))
    assert "Snoozed" in page.inner_text("[data-atm-section=snoozed] h2")
    page.screenshot(path=str(SCREENSHOTS / "handover-snoozed.png"), full_page=True)
    page.evaluate("window.notReloaded = true")

    page.wait_for_selector(in_section("mine", task.pk))  # its time came: the socket sent it back
    assert page.locator("[data-atm-section=snoozed]").count() == 0
    assert page.evaluate("window.notReloaded") is True


def test_a_substitute_sees_and_processes_the_absent_user_s_task(browser, server):  # noqa: F811
    ada, bob = make_user("ada"), make_user("bob")
    make_user("root", superuser=True)
    ExpenseApproval(requester="ada", approver="root")
    handover.delegate(ada, bob, timezone.now() + timedelta(days=7))
    page = inbox_of(browser, server, bob)
    task = AutomationTaskModel.objects.get(finished=None)
    page.wait_for_selector(in_section("mine", task.pk))
    assert "for ada" in page.inner_text(f'[data-atm-task="{task.pk}"]')
    page.screenshot(path=str(SCREENSHOTS / "handover-substitute.png"), full_page=True)

    page.click("text=Enter your expense")
    page.fill("input[name=title]", "Conference fee")
    page.fill("input[name=amount]", "120")
    page.click("button[type=submit]")
    page.wait_for_url(server + "/automations/tasks/")
    assert AutomationTaskModel.objects.get(pk=task.pk).finished_by_id == bob.pk
