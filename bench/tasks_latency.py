"""Latency of the live task list: task created (or finished) -> the browser's list updated.

    python bench/tasks_latency.py [--runs 50]

Starts daphne with the site's routing in a separate process (a fresh SQLite file, or the database of
``DATABASE_URL``; the in-memory channel layer, or Redis with ``REDIS_URL``) and a headless chromium
(Debian's ``/usr/bin/chromium``, driven by Playwright). User A keeps the task list open. For each run
an expense approval is started; user B submits its first form over HTTP, so that the server's
engine opens A's approval task; A's page records when its list changed. Then A's task is submitted
the same way and the list empties again.

"created -> updated" runs from the new task row's ``created`` time (taken when the engine step
that opens it begins, so it includes the rest of that step and its commit) to the moment the page
has replaced its list; "finished -> updated" likewise from the task's ``finished`` time. Both
clocks are this machine's wall clock. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
RECORD_UPDATES = """
window.atmUpdates = [];
document.addEventListener("automations:tasks", function () {
  var ids = Array.prototype.map.call(document.querySelectorAll("[data-atm-task]"), function (item) {
    return Number(item.getAttribute("data-atm-task"));
  });
  window.atmUpdates.push({at: performance.timeOrigin + performance.now(), ids: ids});
});
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="atm-latency-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM next to Playwright's sync API

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from playwright.sync_api import sync_playwright

    from tests.people.live_server import logged_in_page, running_server

    users = prepare_users()
    created, finished = [], []
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        watcher = logged_in_page(browser, url, users["ada"])
        watcher.add_init_script(RECORD_UPDATES)
        watcher.goto(url + "/automations/tasks/")
        watcher.wait_for_selector('[data-atm-live="connected"]')
        bob = logged_in_page(browser, url, users["bob"])
        ada = logged_in_page(browser, url, users["ada"])
        bob.goto(url + "/automations/tasks/")
        ada.goto(url + "/automations/tasks/")
        for _ in range(args.runs + 3):  # the first runs warm up caches and connections
            opened, closed = one_run(url, watcher, bob, ada)
            created.append(opened)
            finished.append(closed)
        browser.close()
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"Live task list latency, {args.runs} runs, {database} + {layer}, daphne + headless chromium")
    report("task created  -> browser updated", created[3:])
    report("task finished -> browser updated", finished[3:])


def prepare_users():
    from django.contrib.auth.models import User

    users = {}
    for name in ("ada", "bob"):
        User.objects.filter(username=name).delete()
        users[name] = User.objects.create_user(name, password="bench-password")
    return users


def one_run(url, watcher, bob, ada):
    """Run one approval through the browser; return the two latencies in milliseconds."""
    from automations.models import AutomationTaskModel
    from tests.approvals.automations import ExpenseApproval

    automation = ExpenseApproval(requester="bob", approver="ada")
    enter = AutomationTaskModel.objects.get(automation_id=automation.id, status="enter")
    submit(bob, url, enter.pk, {"title": "Bench", "amount": "1.00"})
    approve = AutomationTaskModel.objects.get(automation_id=automation.id, status="approve")
    shown = wait_for_update(watcher, lambda ids: approve.pk in ids)
    submit(ada, url, approve.pk, {"approved": "on"})
    approve.refresh_from_db()
    gone = wait_for_update(watcher, lambda ids: approve.pk not in ids)
    return shown - approve.created.timestamp() * 1000, gone - approve.finished.timestamp() * 1000


def submit(page, url, task_id, fields):
    """POST a form to a task the way the browser would, with the CSRF token of the page's cookie."""
    task_url = f"{url}/automations/tasks/{task_id}/"
    token = (
        next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        if any(c["name"] == "csrftoken" for c in page.context.cookies())
        else None
    )
    if token is None:
        page.goto(task_url)
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(task_url, form={**fields, "csrfmiddlewaretoken": token}, max_redirects=0)
    if response.status != 302:
        raise RuntimeError(f"Submitting task {task_id} answered {response.status}.")


def wait_for_update(watcher, matches, timeout=15.0) -> float:
    """Return when (epoch ms) the watching page's list first satisfied ``matches``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        updates = watcher.evaluate("window.atmUpdates.splice(0)")
        for update in updates:
            if matches(set(update["ids"])):
                return update["at"]
        watcher.wait_for_timeout(2)
    raise RuntimeError("The task list was not updated in time.")


def report(label, values):
    values = sorted(values)

    def percentile(p):
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]

    print(
        f"  {label}: p50 {percentile(50):6.1f} ms   p90 {percentile(90):6.1f} ms   "
        f"p99 {percentile(99):6.1f} ms   max {values[-1]:6.1f} ms   mean {statistics.fmean(values):6.1f} ms"
    )


if __name__ == "__main__":
    main()
