"""axe-core finds no serious or critical accessibility violation on any page, on a desktop and a phone.

Every page of the workflow views, the automations admin and the demo is loaded in Debian's chromium
(the Playwright setup of ``test_browser.py``) at two viewport sizes; axe-core (``tests/people/axe.py``)
checks each one, and the test checks that each has one h1 and fits the screen's width. A failure
lists every problem: page, viewport, and for axe-core the rule id, impact and elements. Screenshots
of the phone-width pages land in ``var/screenshots/a11y/``.
"""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from automations import engine, handover
from automations.models import AutomationModel, AutomationTaskModel
from demo.automations import TrialJourney
from demo.management.commands.demo_screenshots import Command as DemoScreenshots
from tests.people.axe import axe_source_or_skip, blocking, describe, violations
from tests.people.live_server import logged_in_page
from tests.people.test_browser import TIMEOUT_MS, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "a11y"


@pytest.fixture
def scene(transactional_db):
    """The demo's users and the instances of ``manage.py demo_screenshots``, plus a trial journey."""
    call_command("load_demo", "--insecure-demo-users", stdout=StringIO())
    scene = DemoScreenshots().set_the_scene()
    users = get_user_model().objects
    journey = AutomationModel.objects.get(automation_class=TrialJourney.get_automation_class_name())
    scene["journey_key"] = journey.key
    scene["class_path"] = journey.automation_class
    scene["users"] = {name: users.get(username=name) for name in ("admin", "manager", "alice")}
    held = AutomationModel.objects.create(automation_class=journey.automation_class, data=journey.data)
    AutomationTaskModel.objects.create(automation=held, status="send_old_offer")  # a node since removed
    engine.advance(held.pk)  # held: needs_migration
    scene["held"] = held.pk
    soon = timezone.now() + timedelta(days=1)  # a coming delegation: the settings page lists it
    handover.delegate(
        scene["users"]["manager"], scene["users"]["alice"], soon + timedelta(days=7), starts=soon
    )
    return scene


def workflow_pages(scene) -> list[tuple[str, str, str]]:
    """(name, user, path) of the pages of the workflow views."""
    failed, waiting = scene["failed"], scene["waiting"]
    return [
        ("task inbox", "manager", reverse("automations:task_list")),
        ("task form", "manager", reverse("automations:task", args=[scene["task"]])),
        ("closed task", "manager", reverse("automations:task", args=[scene["decided_task"]])),
        ("my settings", "manager", reverse("automations:my_settings")),
        ("instances", "admin", reverse("automations:instances")),
        ("instance (failed)", "admin", reverse("automations:instance", args=[failed])),
        ("instance (waiting)", "admin", reverse("automations:instance", args=[waiting])),
        ("instance action", "admin", reverse("automations:instance_action", args=[failed, "message"])),
        ("instance (needs migration)", "admin", reverse("automations:instance", args=[scene["held"]])),
        ("instance move", "admin", reverse("automations:instance_action", args=[scene["held"], "move"])),
        ("instance diagram", "admin", reverse("automations:instance_diagram", args=[waiting])),
        ("class diagram", "admin", reverse("automations:diagram", args=[scene["class_path"]])),
        ("dashboard", "admin", reverse("automations:dashboard")),
        ("errors", "admin", reverse("automations:errors")),
        ("history", "admin", reverse("automations:history", args=[failed])),
        ("traceback", "admin", reverse("automations:traceback", args=[failed, scene["failed_task"]])),
        ("403", "alice", reverse("automations:instances")),
        ("404", "alice", reverse("automations:task", args=[scene["task"]])),
    ]


def admin_pages(scene) -> list[tuple[str, str, str]]:
    """(name, user, path) of the automations admin's list and change pages."""
    return [
        ("admin instances", "admin", reverse("admin:automations_automationmodel_changelist")),
        (
            "admin instance",
            "admin",
            reverse("admin:automations_automationmodel_change", args=[scene["failed"]]),
        ),
        ("admin tasks", "admin", reverse("admin:automations_automationtaskmodel_changelist")),
        (
            "admin task",
            "admin",
            reverse("admin:automations_automationtaskmodel_change", args=[scene["task"]]),
        ),
        ("admin audit entries", "admin", reverse("admin:automations_auditentry_changelist")),
        ("admin delegations", "admin", reverse("admin:automations_delegation_changelist")),
    ]


def demo_pages(scene) -> list[tuple[str, str | None, str]]:
    """(name, user, path) of the demo's own pages."""
    return [
        ("demo home (visitor)", None, reverse("demo_home")),
        ("demo home (alice)", "alice", reverse("demo_home")),
        ("demo login", None, reverse("login")),
        ("demo logout", "alice", reverse("logout")),
        ("demo pricing", "alice", f"{reverse('demo_pricing')}?key={scene['journey_key']}"),
        ("demo pricing without a key", None, reverse("demo_pricing")),
    ]


def layout_problems(where, page) -> list[str]:
    """Return what axe-core does not check: one h1 a page, and no page wider than the screen."""
    problems = []
    if page.locator("h1").count() != 1:
        problems.append(f"{where}: {page.locator('h1').count()} h1 headings instead of one")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems.append(f"{where}: the page is {overflow}px wider than the screen")
    return problems


def check_pages(browser, server, scene, pages, viewport_name):  # noqa: F811
    """Load each page at the viewport and check it; fail listing every problem found."""
    axe_source = axe_source_or_skip()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = []
    for name, who, path in pages:
        if who:
            page = logged_in_page(browser, server, scene["users"][who], TIMEOUT_MS)
        else:
            page = browser.new_context().new_page()
            page.set_default_timeout(TIMEOUT_MS)
        page.set_viewport_size(VIEWPORTS[viewport_name])
        page.goto(server + path)
        page.wait_for_load_state("load")
        where = f"{name} ({viewport_name}, {path})"
        found += describe(where, blocking(violations(page, axe_source)))
        found += layout_problems(where, page)
        if viewport_name == "phone":
            slug = name.replace(" ", "-").replace("(", "").replace(")", "")
            page.screenshot(path=str(SCREENSHOTS / f"{slug}.png"), full_page=True)
        page.context.close()
    assert not found, "Accessibility problems (axe-core: serious and critical only):\n" + "\n".join(found)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_workflow_pages_have_no_serious_violations(browser, server, scene, viewport):  # noqa: F811
    check_pages(browser, server, scene, workflow_pages(scene), viewport)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_automations_admin_has_no_serious_violations(browser, server, scene, viewport):  # noqa: F811
    check_pages(browser, server, scene, admin_pages(scene), viewport)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_demo_pages_have_no_serious_violations(browser, server, scene, viewport):  # noqa: F811
    check_pages(browser, server, scene, demo_pages(scene), viewport)


def test_on_a_phone_the_instances_table_shows_where_each_instance_stands(browser, server, scene):  # noqa: F811
    page = logged_in_page(browser, server, scene["users"]["admin"], TIMEOUT_MS)
    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(server + reverse("automations:instances"))
    width = VIEWPORTS["phone"]["width"]
    header = page.locator(".atm-instances th", has_text="Now at").bounding_box()
    assert header is not None and header["x"] + header["width"] <= width, header
    waiting = page.locator(f'[data-atm-instance="{scene["waiting"]}"]', has_text="approval").bounding_box()
    assert waiting is not None and waiting["x"] + waiting["width"] <= width, waiting
    # Nothing is hidden to the right of the table's scroll box.
    wrap = page.locator(".atm-table-wrap")
    assert wrap.evaluate("(box) => box.scrollWidth <= box.clientWidth")


def test_the_skip_link_is_the_first_stop_of_the_keyboard_and_leads_to_the_content(browser, server, scene):  # noqa: F811
    page = logged_in_page(browser, server, scene["users"]["manager"], TIMEOUT_MS)
    page.goto(server + reverse("automations:task_list"))
    skip = page.locator(".atm-skip-link")
    assert skip.bounding_box()["y"] < 0  # out of sight for a mouse
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "atm-skip-link"
    assert skip.inner_text() == "Skip to content"
    assert skip.bounding_box()["y"] >= 0  # in sight once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "atm-content"
    page.keyboard.press("Tab")  # the next stop is inside the content, past the navigation
    assert page.evaluate("document.getElementById('atm-content').contains(document.activeElement)")
