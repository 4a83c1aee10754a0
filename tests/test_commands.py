"""The management commands and ``AutomationModel.delete_history``."""

import logging
from datetime import timedelta
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from automations import flow
from automations.flow import this
from automations.models import AutomationModel, AutomationTaskModel
from automations.worker import take_waiting_events
from tests.helpers import row

pytestmark = pytest.mark.django_db


class Short(flow.Automation):
    work = flow.Execute(this.do_work).AfterWaitingFor(timedelta(minutes=5))
    end = flow.End()

    def do_work(self, task):
        if self.data.get("fail"):
            raise RuntimeError("failed")


def run_command(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_automation_step_advances_due_instances_and_says_what_it_did(clock):
    Short(), Short(), Short(fail=True), Short()
    clock.jump(minutes=1)
    assert run_command("automation_step") == (
        "Advanced 0 automation instance(s): 0 finished, 0 stopped with an error, "
        "0 skipped (held by another worker or no longer due); 0 still waiting for a condition.\n"
    )
    clock.jump(minutes=4)
    assert run_command("automation_step") == (
        "Advanced 4 automation instance(s): 3 finished, 1 stopped with an error, "
        "0 skipped (held by another worker or no longer due); 0 still waiting for a condition.\n"
    )


def test_automation_step_without_a_channel_layer_is_quiet_on_every_run(clock, caplog, settings):
    """The cron setup of a site without workers, as 0.9 sites ran it: no CHANNEL_LAYERS at all."""
    settings.CHANNEL_LAYERS = {}  # what Channels reads where the setting is missing
    Short()
    clock.jump(minutes=5)
    with caplog.at_level(logging.DEBUG, logger="automations"):
        first, second = run_command("automation_step"), run_command("automation_step")
    assert first.startswith("Advanced 1 automation instance(s): 1 finished")
    assert second.startswith("Advanced 0 automation instance(s)")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "No channel layer is configured" in run_command("automation_step", "-v", "2")
    assert async_to_sync(take_waiting_events)() == 0


def finished_instance(clock, days_ago):
    automation = Short()
    clock.jump(minutes=5)
    AutomationModel.run()
    clock.jump(days=days_ago)
    assert row(automation).finished
    return automation


def test_delete_history_deletes_instances_finished_long_ago_with_their_tasks(clock):
    old = finished_instance(clock, days_ago=0)
    clock.jump(days=40)
    recent = finished_instance(clock, days_ago=10)
    running = Short()
    total, per_model = AutomationModel.delete_history()
    assert (total, per_model) == (3, {"automations.AutomationTaskModel": 2, "automations.AutomationModel": 1})
    assert not AutomationModel.objects.filter(pk=old.id).exists()
    assert set(AutomationModel.objects.values_list("pk", flat=True)) == {recent.id, running.id}
    assert AutomationTaskModel.objects.filter(automation_id=recent.id).count() == 2
    assert AutomationModel.delete_history(days=5) == (
        3,
        {"automations.AutomationTaskModel": 2, "automations.AutomationModel": 1},
    )
    assert AutomationModel.delete_history(days=0)[0] == 0  # a running instance is never deleted


def test_delete_history_keeps_instances_stopped_by_an_error(clock):
    failed = Short(fail=True)
    clock.jump(minutes=5)
    AutomationModel.run()
    clock.jump(days=100)
    assert AutomationModel.delete_history()[0] == 0
    assert AutomationModel.objects.filter(pk=failed.id).exists()


def test_automation_delete_history_command(clock):
    finished_instance(clock, days_ago=20)
    assert run_command("automation_delete_history") == (
        "Deleted 0 object(s) finished more than 30 day(s) ago (nothing) in 0 batch(es).\n"
    )
    assert run_command("automation_delete_history", "14") == (
        "Deleted 3 object(s) finished more than 14 day(s) ago "
        "(automations.AutomationModel: 1, automations.AutomationTaskModel: 2) in 1 batch(es).\n"
    )
