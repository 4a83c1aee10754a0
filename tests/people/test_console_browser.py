"""A real browser on the workflow pages: the layout's navigation, the inbox, instance actions, the admin.

Uses the Playwright + Debian chromium setup of ``test_browser.py`` (skipped without them, except
with ``ATM_REQUIRE_SERVICES=1``).
"""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from automations.models import AuditEntry, AutomationModel, AutomationTaskModel
from demo.automations import InvoiceSync
from tests.approvals.automations import ExpenseApproval, TeamReview
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def staff_with(*codenames, username="watcher"):
    user = make_user(username, staff=True)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="automations", codename=codename)
        )
    return type(user).objects.get(pk=user.pk)


def failed_invoice(customer):
    sync = InvoiceSync(customer=customer, amount="49.00", failure_rate=1.0)
    assert AutomationModel.objects.get(pk=sync.id).error
    return sync


def test_every_workflow_page_has_the_navigation_and_leads_on(browser, server):  # noqa: F811
    watcher = staff_with("view_automationmodel")
    sync = failed_invoice(watcher)
    failed = AutomationTaskModel.objects.get(automation_id=sync.id, status="send")
    page = logged_in_page(browser, server, watcher, TIMEOUT_MS)
    pages = {
        "/automations/tasks/": "My tasks",
        "/automations/instances/": "Instances",
        f"/automations/instances/{sync.id}/": "Invoice sync",
        "/automations/dashboard/": "Automations dashboard",
        "/automations/errors/": "Automation errors",
        f"/automations/{sync.id}/history/": "History",
        f"/automations/{sync.id}/traceback/{failed.pk}/": "Error in send",
        "/automations/tasks/999999/": "Nothing here",
    }
    for path, heading in pages.items():
        page.goto(server + path)
        assert heading in page.inner_text("h1"), path
        nav = page.locator(".atm-nav")
        for label in ("My tasks", "Instances", "Dashboard", "Errors"):
            assert nav.locator(f"text={label}").count() == 1, (path, label)
        assert page.locator(".atm-user button", has_text="Log out").count() == 1, path
    # From every page the navigation leads to every other one.
    page.goto(server + "/automations/errors/")
    page.click(".atm-nav >> text=Instances")
    page.wait_for_url(server + "/automations/instances/")
    page.click(f'[data-atm-instance="{sync.id}"] a')
    page.wait_for_url(server + f"/automations/instances/{sync.id}/")
    page.click(".atm-nav >> text=Dashboard")
    page.wait_for_url(server + "/automations/dashboard/")
    page.click(".atm-nav >> text=My tasks")
    page.wait_for_url(server + "/automations/tasks/")


def test_people_without_the_permission_see_only_their_tasks_and_a_way_on(browser, server):  # noqa: F811
    ada = make_user("ada")
    page = logged_in_page(browser, server, ada, TIMEOUT_MS)
    page.goto(server + "/automations/tasks/")
    assert page.locator(".atm-nav >> text=Instances").count() == 0
    response = page.goto(server + "/automations/instances/")
    assert response.status == 403
    assert "You may not see this page" in page.inner_text("h1")
    page.click("text=Go to my tasks")
    page.wait_for_url(server + "/automations/tasks/")


def test_the_inbox_splits_mine_from_my_queue_and_stays_live(browser, server):  # noqa: F811
    # The live server knows the automations of installed apps only: those of tests.approvals.
    ada = make_user("ada", groups=["Reviewers"], permissions=["approvals.approve_expense"])
    ExpenseApproval(requester="ada", approver="ada")
    TeamReview()
    TeamReview()
    page = logged_in_page(browser, server, ada, TIMEOUT_MS)
    page.goto(server + "/automations/tasks/")
    page.wait_for_selector('[data-atm-live="connected"]')
    mine = '[data-atm-section="mine"] [data-atm-task]'
    queue = '[data-atm-section="queue"] [data-atm-task]'
    assert page.locator(mine).count() == 1 and "Enter your expense" in page.inner_text(mine)
    assert page.locator(queue).count() == 2 and "Review the request" in page.inner_text(
        '[data-atm-section="queue"]'
    )
    oldest_first = page.locator(queue).first.get_attribute("data-atm-task")

    page.click("text=newest first")
    page.wait_for_url(server + "/automations/tasks/?sort=newest")
    page.wait_for_selector(
        '[data-atm-socket="/ws/automations/tasks/?sort=newest"][data-atm-live="connected"]'
    )
    assert page.locator(queue).last.get_attribute("data-atm-task") == oldest_first
    page.evaluate("window.notReloaded = true")

    # In a second tab Ada enters her expense: the approval, hers too, replaces it in the first tab.
    form = page.context.new_page()
    form.set_default_timeout(TIMEOUT_MS)
    form.goto(server + page.get_attribute(f"{mine} a", "href"))
    form.fill("input[name=title]", "Train to Hamburg")
    form.fill("input[name=amount]", "89.90")
    form.click("main button[type=submit]")
    form.wait_for_url(server + "/automations/tasks/")
    assert "your input was saved" in form.inner_text(".atm-messages")

    page.wait_for_selector(f"{mine} >> text=Approve the expense")
    assert page.locator(mine).count() == 1 and page.locator(queue).count() == 2
    assert page.locator(queue).last.get_attribute("data-atm-task") == oldest_first  # still newest first
    assert page.evaluate("window.notReloaded") is True


def test_retrying_a_failed_instance_from_its_page(browser, server):  # noqa: F811
    changer = staff_with("view_automationmodel", "change_automationmodel", username="changer")
    sync = failed_invoice(changer)
    AutomationModel.objects.filter(pk=sync.id).update(data={**sync.data, "failure_rate": 0.0})
    page = logged_in_page(browser, server, changer, TIMEOUT_MS)
    page.goto(server + f"/automations/instances/{sync.id}/")
    assert "failed" in page.inner_text("h1")
    page.wait_for_selector("[data-atm-instance-page][data-atm-state]")  # the socket's first state
    # The server writes "&hellip;" where the browser writes "…": a part that did not change stays,
    # so a click on its link at that moment is not lost.
    kept = page.evaluate(
        """() => {
            const page = document.querySelector("[data-atm-instance-page]");
            const link = page.querySelector('[data-atm-part="actions"] a');
            const part = page.querySelector('[data-atm-part="actions"]');
            const html = part.innerHTML.replaceAll("…", "&hellip;");
            document.dispatchEvent(new CustomEvent("automations:diagram", {detail: {
                automation: Number(page.dataset.atmInstancePage), state: "failed", page: {actions: html}}}));
            return page.querySelector('[data-atm-part="actions"] a') === link;
        }"""
    )
    assert kept
    page.click("text=Retry from the failed node")
    page.wait_for_url(server + f"/automations/instances/{sync.id}/retry/")
    page.click("text=Yes, do it")
    page.wait_for_url(server + f"/automations/instances/{sync.id}/")
    assert "goes on from send" in page.inner_text(".atm-messages")
    assert "finished" in page.inner_text("h1")
    assert "Retried from send by changer." in page.inner_text(".atm-timeline")
    assert AutomationModel.objects.get(pk=sync.id).finished


def test_admin_actions_cancel_and_wake(browser, server):  # noqa: F811
    root = make_user("root", superuser=True)
    make_user("ada")
    waiting = ExpenseApproval(requester="ada", approver="root")
    sync = failed_invoice(root)
    page = logged_in_page(browser, server, root, TIMEOUT_MS)
    page.goto(server + "/admin/automations/automationmodel/")
    page.check(f'input[name="_selected_action"][value="{waiting.id}"]')
    page.select_option('select[name="action"]', "cancel")
    page.click('button[name="index"]')
    page.wait_for_selector("textarea[name=reason]")  # the console's confirmation asks why
    page.fill("textarea[name=reason]", "Sent twice.")
    page.click("text=Yes, for 1 instance")
    page.wait_for_url(server + "/admin/automations/automationmodel/")
    page.wait_for_selector(".messagelist")
    assert "done for 1 instance" in page.inner_text(".messagelist")
    model = AutomationModel.objects.get(pk=waiting.id)
    assert (model.status, model.error) == ("cancelled", "")
    page.check(f'input[name="_selected_action"][value="{sync.id}"]')
    page.select_option('select[name="action"]', "wake_now")
    page.click('button[name="index"]')
    page.wait_for_selector(".messagelist")
    assert "does not apply" in page.inner_text(".messagelist")  # a stopped instance is not woken
    assert list(AuditEntry.objects.filter(automation_id=sync.id)) == []


def test_cancelling_with_a_reason_from_the_instance_page(browser, server):  # noqa: F811
    root = make_user("root", superuser=True)
    make_user("ada")
    waiting = ExpenseApproval(requester="ada", approver="root")
    page = logged_in_page(browser, server, root, TIMEOUT_MS)
    page.goto(server + f"/automations/instances/{waiting.id}/")
    assert "waiting for a person" in page.inner_text("h1")
    page.click(".atm-actions >> text=Cancel")
    page.wait_for_url(server + f"/automations/instances/{waiting.id}/cancel/")
    page.click("text=Yes, do it")  # no reason: the browser's own check keeps the page
    assert page.url == server + f"/automations/instances/{waiting.id}/cancel/"
    page.fill("textarea[name=reason]", "The trip was called off.")
    page.click("text=Yes, do it")
    page.wait_for_url(server + f"/automations/instances/{waiting.id}/")
    assert "cancelled" in page.inner_text("h1")
    assert "Cancelled by root: The trip was called off." in page.inner_text(".atm-timeline")
    page.screenshot(path=str(SCREENSHOTS / "instance-cancelled.png"), full_page=True)
    page.goto(server + "/automations/errors/")
    assert f"#{waiting.id}" not in page.inner_text("main")  # cancelled is not an error


def test_retrying_three_failed_instances_at_once_from_the_errors_page(browser, server):  # noqa: F811
    root = make_user("root", superuser=True)
    syncs = [failed_invoice(root) for _ in range(3)]
    for sync in syncs:
        AutomationModel.objects.filter(pk=sync.id).update(data={**sync.data, "failure_rate": 0.0})
    page = logged_in_page(browser, server, root, TIMEOUT_MS)
    page.goto(server + "/automations/errors/")
    page.check("[data-atm-select-all]")  # the header's box ticks every row
    for sync in syncs:
        assert page.is_checked(f'input[name="ids"][value="{sync.id}"]')
    page.click(".atm-bulk-actions >> text=Retry")
    page.wait_for_selector("text=Yes, for 3 instances")
    for sync in syncs:
        assert f"#{sync.id}" in page.inner_text(".atm-bulk")
    page.screenshot(path=str(SCREENSHOTS / "bulk-retry.png"), full_page=True)
    page.click("text=Yes, for 3 instances")
    page.wait_for_url(server + "/automations/errors/")
    assert "done for 3 instance" in page.inner_text(".atm-messages")
    assert set(
        AutomationModel.objects.filter(pk__in=[s.id for s in syncs]).values_list("status", flat=True)
    ) == {"finished"}
