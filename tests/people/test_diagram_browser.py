"""A real browser: an instance's flow diagram marks where it stands, and follows it when it moves.

Uses the browser and server fixtures of :mod:`tests.people.test_browser` (Debian's chromium through
Playwright, daphne in another process). The screenshots land in ``var/screenshots/``.
"""

from pathlib import Path

import pytest

from automations.models import AutomationModel
from tests.approvals.automations import ExpenseApproval, PaymentReminders
from tests.people.flows import make_user
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def current_node(page) -> str:
    return page.get_attribute("[data-atm-diagram]", "data-atm-current") or ""


def test_the_instance_diagram_moves_its_highlight_when_the_instance_moves(browser, server):  # noqa: F811
    make_user("ada")
    bob = make_user("bob")
    watcher = make_user("vic", permissions=["automations.view_automationmodel"])
    automation = ExpenseApproval(requester="bob", approver="ada")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = logged_in_page(browser, server, watcher, TIMEOUT_MS)
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{server}/automations/{automation.id}/diagram/")
    page.wait_for_selector('[data-atm-diagram][data-atm-live="connected"]')
    assert current_node(page) == "enter"
    assert "atm-current" in page.get_attribute(f"#atm-{automation.id}-node-enter", "class")
    assert "Waiting for a person at enter." in page.inner_text("[data-atm-diagram-status]")
    page.evaluate("window.notReloaded = true")
    page.screenshot(path=str(SCREENSHOTS / "instance-diagram-before.png"), full_page=True)

    bob_page = logged_in_page(browser, server, bob, TIMEOUT_MS)
    bob_page.goto(server + "/automations/tasks/")
    bob_page.click("text=Enter your expense")
    bob_page.fill("input[name=title]", "Train to Hamburg")
    bob_page.fill("input[name=amount]", "89.90")
    bob_page.click("button[type=submit]")
    bob_page.wait_for_url(server + "/automations/tasks/")

    page.wait_for_function(
        "document.querySelector('[data-atm-diagram]').getAttribute('data-atm-current') === 'approve'"
    )
    node = f"#atm-{automation.id}-node-"
    assert "atm-current" in page.get_attribute(node + "approve", "class")
    enter_classes = page.get_attribute(node + "enter", "class").split()
    assert "atm-visited" in enter_classes and "atm-current" not in enter_classes
    taken = page.get_attribute('[data-source="enter"][data-target="approve"]', "class").split()
    assert "atm-taken" in taken
    assert "Waiting for a person at approve." in page.inner_text("[data-atm-diagram-status]")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(SCREENSHOTS / "instance-diagram-after.png"), full_page=True)

    class_page = logged_in_page(browser, server, watcher, TIMEOUT_MS)
    class_page.set_viewport_size({"width": 900, "height": 900})
    class_page.goto(f"{server}/automations/diagram/tests.approvals.automations.ExpenseApproval/")
    assert class_page.get_attribute("#atm-node-approve [data-count]", "data-count") == "1"
    class_page.screenshot(path=str(SCREENSHOTS / "class-diagram.png"), full_page=True)
    assert not AutomationModel.objects.get(pk=automation.id).finished


def edge_classes(page, source, target, kind) -> list[str]:
    selector = f'.atm-edge[data-source="{source}"][data-target="{target}"][data-kind="{kind}"]'
    return page.get_attribute(selector, "class").split()


def test_a_diagram_of_a_decision_whose_branches_meet_lights_one_edge(browser, server):  # noqa: F811
    watcher = make_user("vic", permissions=["automations.view_automationmodel"])
    automation = PaymentReminders(vip=False)  # waits at "remind" until it may remind
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = logged_in_page(browser, server, watcher, TIMEOUT_MS)
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{server}/automations/{automation.id}/diagram/")
    page.wait_for_selector('[data-atm-diagram][data-atm-live="connected"]')
    node = f"#atm-{automation.id}-node-"
    # "yes" and "no" both lead from vip to remind: only "no" is lit
    assert "atm-taken" in edge_classes(page, "vip", "remind", "else")
    assert "atm-taken" not in edge_classes(page, "vip", "remind", "then")
    assert page.locator(".atm-node[data-node].atm-skipped").count() == 0  # everything is still ahead

    # Three reminders later the customer paid; the page asks its socket for the state again.
    automation.data.update(may_remind=True, paid=True)
    automation.save()
    automation.run()
    page.evaluate(
        "document.querySelector('[data-atm-diagram]').atmSocket.send(JSON.stringify({type: 'refresh'}))"
    )
    page.wait_for_function(
        "document.querySelector('[data-atm-diagram]').getAttribute('data-atm-current') === 'close'"
    )
    assert "atm-taken" in edge_classes(page, "vip", "remind", "else")
    assert "atm-taken" not in edge_classes(page, "vip", "remind", "then")
    assert "atm-taken" in edge_classes(page, "again", "remind", "then")
    assert "atm-taken" in edge_classes(page, "paid", "thank", "then")
    assert "atm-taken" not in edge_classes(page, "paid", "escalate", "else")
    assert "atm-skipped" in page.get_attribute(node + "escalate", "class").split()
    assert "atm-skipped" not in page.get_attribute(node + "end", "class").split()
    assert page.is_visible(node + "remind .atm-visits")
    assert page.text_content(node + "remind .atm-visits text") == "×3"
    assert not page.is_visible(node + "thank .atm-visits")
    assert "Waiting for a message at close." in page.inner_text("[data-atm-diagram-status]")
    assert page.is_visible(".atm-diagram-legend >> text=skipped")
    page.screenshot(path=str(SCREENSHOTS / "instance-diagram-decision.png"), full_page=True)
