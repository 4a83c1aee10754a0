"""Save a screenshot of every page of the demo into ``var/screenshots/`` for a reviewer to look at.

Run the demo first (``make run``, or ``make run ADDR=127.0.0.1:8010``), then, with the same
settings and database::

    DJANGO_DEBUG=1 python manage.py demo_screenshots --url http://127.0.0.1:8000

It needs Playwright and a Chromium (``/usr/bin/chromium`` or ``--chromium PATH``). It starts a
few demo instances (a claim waiting for the manager, a failed invoice sync, a finished claim) so
that every page has something to show, logs in as the demo users by creating their sessions, and
writes one PNG per page, desktop width, plus phone-width shots of the task list and an instance.

With ``--docs`` it writes the screenshots of ``docs/views.md`` instead, into ``docs/screenshots/``
(or ``--out``): fewer pages, each cut to its content and at most ``DOCS_MAX_HEIGHT`` pixels high,
so that the repository stays small.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse

from automations import engine
from automations.models import AutomationModel, AutomationTaskModel

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: The most pixels a screenshot of the docs is high, by viewport width: a long page is cut there.
DOCS_MAX_HEIGHT = {DESKTOP["width"]: 1800, PHONE["width"]: 1500}
#: Pixels per CSS pixel of the docs' screenshots, by viewport width: the desktop pages are laid out
#: 1280 wide and saved 960 wide, about the width the docs are read at.
DOCS_SCALE = {DESKTOP["width"]: 0.75}


class Command(BaseCommand):
    help = "Save a screenshot of every demo page (the demo must be running at --url) into var/screenshots/."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the demo runs")
        parser.add_argument(
            "--out", default=None, help="default: var/screenshots, with --docs docs/screenshots"
        )
        parser.add_argument("--docs", action="store_true", help="the screenshots of docs/views.md")
        parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
        parser.add_argument("--language", default="en", help="the browser's language, e.g. de")

    def handle(self, *args, url, out, chromium, language, docs=False, **options):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise CommandError("demo_screenshots needs Playwright: pip install playwright") from exc
        if not Path(chromium).exists():
            raise CommandError(f"No Chromium at {chromium}: install it or pass --chromium PATH.")
        call_command("load_demo", "--insecure-demo-users", stdout=self.stdout)
        scene = self.set_the_scene()
        out_dir = Path(out or Path(settings.BASE_DIR) / ("docs" if docs else "var") / "screenshots")
        out_dir.mkdir(parents=True, exist_ok=True)
        url = url.rstrip("/")
        pages = self.docs_pages(scene) if docs else self.pages(scene)
        # Sessions are made before Playwright starts: its event loop makes this thread async, where
        # Django refuses database queries.
        sessions = {who: self.session(who) for _, who, _, _ in pages if who}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--headless"]
            )
            try:
                for name, who, path, viewport in pages:
                    scale = DOCS_SCALE.get(viewport["width"], 1) if docs else 1
                    context = browser.new_context(
                        viewport=viewport, locale=language, device_scale_factor=scale
                    )
                    if who:
                        context.add_cookies(
                            [{"name": settings.SESSION_COOKIE_NAME, "value": sessions[who], "url": url}]
                        )
                    page = context.new_page()
                    page.goto(url + path)
                    target = out_dir / f"{name}.png"
                    if docs:
                        self.docs_screenshot(page, target, viewport)
                    else:
                        page.screenshot(path=str(target), full_page=True)
                    context.close()
                    self.stdout.write(f"{target}  ({who or 'anonymous'}: {path})")
            finally:
                browser.close()

    @staticmethod
    def docs_screenshot(page, target: Path, viewport: dict) -> None:
        """Save ``page`` down to the end of its content, at most ``DOCS_MAX_HEIGHT`` high."""
        page.wait_for_timeout(300)  # the live parts connect and settle
        height = page.evaluate("Math.ceil(document.body.getBoundingClientRect().height)") + 16
        height = min(max(height, 200), DOCS_MAX_HEIGHT[viewport["width"]])
        clip = {"x": 0, "y": 0, "width": viewport["width"], "height": height}  # CSS pixels
        page.screenshot(path=str(target), full_page=True, clip=clip)

    def session(self, username) -> str:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    def set_the_scene(self) -> dict:
        """Start the instances the pages show; return their ids."""
        from demo.automations import ExpenseApproval, InvoiceSync

        users = get_user_model().objects
        alice, manager = users.get(username="alice"), users.get(username="manager")
        waiting = ExpenseApproval(requester=alice, amount="120.00", purpose="Train to Hamburg")
        decided = ExpenseApproval(requester=alice, amount="80.00", purpose="Team lunch")
        decided_task = AutomationTaskModel.objects.get(automation_id=decided.id, finished=None)
        submission = engine.Submission(decided_task.pk, {"decision": "approve", "comment": "Enjoy"}, manager)
        engine.advance(decided.id, submission=submission)
        failed = InvoiceSync(customer=alice, amount="49.00", failure_rate=1.0)
        failed_task = AutomationTaskModel.objects.filter(automation_id=failed.id, status="send").first()
        return {
            "waiting": waiting.id,
            "task": AutomationTaskModel.objects.get(automation_id=waiting.id, finished=None).pk,
            "decided_task": decided_task.pk,
            "failed": failed.id,
            "failed_task": failed_task.pk if failed_task else None,
            "any": AutomationModel.objects.order_by("pk").first().pk,
        }

    def docs_pages(self, scene) -> list[tuple]:
        """The screenshots of docs/views.md: ``(name, user, path, viewport)``."""
        failed = reverse("automations:instance", args=[scene["failed"]])
        errors = reverse("automations:errors")
        ids = f"{scene['failed']},{scene['waiting']}"
        return [
            ("tasks", "manager", reverse("automations:task_list"), DESKTOP),
            ("task-form", "manager", reverse("automations:task", args=[scene["task"]]), DESKTOP),
            ("start-menu", "alice", reverse("automations:start_menu"), DESKTOP),
            ("instances", "admin", reverse("automations:instances"), DESKTOP),
            ("instance", "admin", failed, DESKTOP),
            (
                "bulk-retry",
                "admin",
                reverse("automations:bulk_action", args=["retry"]) + f"?ids={ids}&next={errors}",
                DESKTOP,
            ),
            (
                "cancel",
                "admin",
                reverse("automations:instance_action", args=[scene["waiting"], "cancel"]),
                DESKTOP,
            ),
            ("errors", "admin", errors, DESKTOP),
            ("dashboard", "admin", reverse("automations:dashboard"), DESKTOP),
            ("tasks-phone", "manager", reverse("automations:task_list"), PHONE),
            ("instance-phone", "admin", reverse("automations:instance", args=[scene["waiting"]]), PHONE),
        ]

    def pages(self, scene) -> list[tuple]:
        instance = reverse("automations:instance", args=[scene["failed"]])
        pages = [
            ("01-home-anonymous", None, "/", DESKTOP),
            ("02-login", None, reverse("login"), DESKTOP),
            ("03-home-alice", "alice", "/", DESKTOP),
            ("04-tasks-manager", "manager", reverse("automations:task_list"), DESKTOP),
            ("05-task-form", "manager", reverse("automations:task", args=[scene["task"]]), DESKTOP),
            ("06-task-closed", "manager", reverse("automations:task", args=[scene["decided_task"]]), DESKTOP),
            ("07-instances", "admin", reverse("automations:instances"), DESKTOP),
            ("08-instance-failed", "admin", instance, DESKTOP),
            (
                "09-instance-waiting",
                "admin",
                reverse("automations:instance", args=[scene["waiting"]]),
                DESKTOP,
            ),
            (
                "10-action-retry",
                "admin",
                reverse("automations:instance_action", args=[scene["failed"], "retry"]),
                DESKTOP,
            ),
            ("11-dashboard", "admin", reverse("automations:dashboard"), DESKTOP),
            ("12-errors", "admin", reverse("automations:errors"), DESKTOP),
            ("13-history", "admin", reverse("automations:history", args=[scene["failed"]]), DESKTOP),
            ("15-forbidden", "alice", reverse("automations:instances"), DESKTOP),
            ("16-not-found", "alice", "/automations/tasks/999999/", DESKTOP),
            ("17-admin-instances", "admin", reverse("admin:automations_automationmodel_changelist"), DESKTOP),
            (
                "18-admin-instance",
                "admin",
                reverse("admin:automations_automationmodel_change", args=[scene["failed"]]),
                DESKTOP,
            ),
            ("19-logout", "alice", reverse("logout"), DESKTOP),
            ("20-tasks-phone", "manager", reverse("automations:task_list"), PHONE),
            ("21-instance-phone", "admin", instance, PHONE),
            ("22-tasks-alice-empty", "alice", reverse("automations:task_list"), DESKTOP),
        ]
        if scene["failed_task"]:
            traceback = reverse("automations:traceback", args=[scene["failed"], scene["failed_task"]])
            pages.append(("14-traceback", "admin", traceback, DESKTOP))
        return sorted(pages)
