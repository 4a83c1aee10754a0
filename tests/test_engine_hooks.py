"""What follows a step: the after-commit hooks, and an engine on Django's public API only."""

import logging
import re
from pathlib import Path

import pytest
from django.db import transaction

from automations import flow
from automations.engine import hooks
from automations.flow import this
from automations.models import AutomationTaskModel
from tests.approvals.forms import ApprovalForm

ROOT = Path(__file__).resolve().parent.parent


class Twice(flow.Automation):
    first = flow.Execute(this.note)
    ask = flow.Form(ApprovalForm)
    end = flow.End()

    def note(self, task):
        self.data["noted"] = True


class Breaks(flow.Automation):
    first = flow.Execute(this.fail)
    end = flow.End()

    def fail(self, task):
        raise RuntimeError("broken")


@pytest.fixture
def reports():
    heard = []
    hooks.register(heard.append)
    yield heard
    hooks.unregister(heard.append)


@pytest.mark.django_db(transaction=True)
def test_a_hook_hears_each_committed_step_with_the_rows_it_opened_and_closed(reports):
    twice = Twice()
    (report,) = reports
    assert report.automation.id == twice.id and not report.result.finished
    assert [task.status for task in report.closed] == ["first"]
    assert [task.status for task in report.opened] == ["ask"]
    assert all(task.pk is not None for task in (*report.opened, *report.closed))
    broken = Breaks()
    assert reports[-1].automation.id == broken.id and reports[-1].result.error


@pytest.mark.django_db(transaction=True)
def test_a_step_that_rolls_back_calls_no_hook(reports):
    with transaction.atomic():
        Twice()
        transaction.set_rollback(True)
    assert reports == []
    assert not AutomationTaskModel.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_hook_is_logged_and_the_others_still_run(reports, caplog):
    def broken(report):
        raise ValueError("hook broke")

    hooks.unregister(reports.append)
    hooks.register(broken)
    hooks.register(reports.append)
    try:
        with caplog.at_level(logging.ERROR, logger="automations.engine"):
            Twice()
    finally:
        hooks.unregister(broken)
    assert len(reports) == 1
    assert "After-step hook" in caplog.text and "hook broke" in caplog.text


def test_registering_twice_registers_once():
    def hook(report):
        return None

    hooks.register(hook)
    hooks.register(hook)
    try:
        assert hooks.registered().count(hook) == 1
    finally:
        hooks.unregister(hook)
    assert hook not in hooks.registered()
    hooks.unregister(hook)  # not registered: ignored


def test_the_live_task_lists_and_diagrams_are_hooks_the_app_registers():
    from automations.diagram import live as diagram_live
    from automations.tasklist import live as task_list_live

    assert task_list_live.after_step in hooks.registered()
    assert diagram_live.after_step in hooks.registered()


PRIVATE_DJANGO = [
    r"run_on_commit",
    r"needs_rollback",
    r"closed_in_transaction",
    r"_live_receivers",
    r"UpdateQuery",
    r"add_update_values",
    r"get_compiler",
    r"ModelState",
    r"set_cached_value",
    r"_state\.db",
    r"\b(pre|post)_(save|init|delete)\.send\(",
    r"execute_wrapper",
    r"\.query\.chain\(",
]


def test_no_private_django_attribute_and_no_hand_sent_model_signal():
    offenders = []
    for package in ("automations", "consumers"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if any(re.search(pattern, line) for pattern in PRIVATE_DJANGO):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
