"""Long steps on a task backend: ``Execute(threaded=True)`` with ``TASKS`` configured."""

from importlib.util import find_spec

import pytest
from django.test import override_settings

from automations import flow, lifecycle, testing
from automations.engine import call_runner
from automations.flow import this
from automations.models import AutomationTaskModel, FlowTicket, LongCall, Status
from tests.helpers import row

# Calls are enqueued and tickets released once a step commits: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

FRAMEWORK = "django.tasks" if find_spec("django.tasks") else "django_tasks"


def backend(name):
    return override_settings(TASKS={"default": {"BACKEND": f"{FRAMEWORK}.backends.{name}"}},
                             ATM_TASK_LEASE=60)  # fmt: skip


class Report(flow.Automation):
    render = flow.Execute(this.render_pdf, threaded=True).OnError(this.failed)
    end = flow.End()
    failed = flow.Execute(this.note_failure).Next(this.end)

    def render_pdf(self, task):
        if self.data.get("broken"):
            raise ValueError("no template")
        self.data["pages"] = 3
        return {"url": f"/reports/{self.data['n']}.pdf"}

    def note_failure(self, task):
        self.data["noted"] = True


class Export(flow.Automation):
    export = flow.Execute(this.work, threaded=True).Concurrency(2, key="customer")
    end = flow.End()

    def work(self, task):
        return self.data["n"]


def calls(instance):
    return list(LongCall.objects.filter(automation_id=instance.id).order_by("attempt"))


def test_without_tasks_a_threaded_call_runs_as_before():
    report = Report(n=1)
    assert row(report).finished and not LongCall.objects.exists()


def test_on_the_immediate_backend_the_call_runs_at_once_and_its_result_comes_back():
    with backend("immediate.ImmediateBackend"):
        report = Report(n=7)
    stored = row(report)
    assert stored.finished
    assert stored.data["pages"] == 3  # what the call set in data is kept
    rendered = AutomationTaskModel.objects.get(automation_id=report.id, status="render")
    assert rendered.result == {"url": "/reports/7.pdf"}
    [call] = calls(report)
    assert call.attempt == 1 and call.done is not None


def test_an_error_on_the_backend_takes_the_on_error_route():
    with backend("immediate.ImmediateBackend"):
        report = Report(n=2, broken=True)
    rendered = AutomationTaskModel.objects.get(automation_id=report.id, status="render")
    assert "ValueError('no template')" in rendered.message
    assert row(report).finished and row(report).data["noted"] is True


def test_a_lost_call_is_enqueued_again_after_its_lease_and_finishes_once():
    with backend("dummy.DummyBackend"), testing.frozen_clock() as clock:
        report = Report(n=3)
        assert row(report).status == Status.WAITING_FOR_MESSAGE
        [call] = calls(report)
        token = str(call.token)
        clock.advance(seconds=59)
        assert calls(report)[0].attempt == 1  # the lease still runs
        clock.advance(seconds=1)
        assert calls(report)[0].attempt == 2  # lost: enqueued again
        assert call_runner.run(token, 1) == "ignored"  # the first attempt, late: not run
        assert call_runner.run(token, 2) == "done"
        testing.run_until_idle()
        assert row(report).finished
        assert call_runner.run(token, 2) == "ignored"  # a duplicate result is ignored
        assert AutomationTaskModel.objects.filter(automation_id=report.id, status="render").count() == 1


def test_a_call_lost_too_often_fails_the_node():
    with (
        backend("dummy.DummyBackend"),
        testing.frozen_clock() as clock,
        override_settings(ATM_TASK_ATTEMPTS=2),
    ):
        report = Report(n=4)
        clock.advance(seconds=60)
        clock.advance(seconds=60)
        rendered = AutomationTaskModel.objects.get(automation_id=report.id, status="render")
        assert "lost the call" in rendered.message
        assert row(report).data["noted"] is True


def test_a_concurrency_limit_holds_while_calls_run_on_the_backend():
    with backend("dummy.DummyBackend"), testing.frozen_clock():
        exports = [Export(n=n, customer="acme") for n in range(5)]
        other = Export(n=9, customer="globex")
        running = FlowTicket.objects.exclude(admitted=None).filter(released=None)
        assert sorted(running.values_list("automation_id", flat=True)) == [
            exports[0].id,
            exports[1].id,
            other.id,
        ]
        call_runner.run(str(calls(exports[0])[0].token), 1)
        testing.run_until_idle()
        assert row(exports[0]).finished
        assert sorted(running.values_list("automation_id", flat=True)) == [
            exports[1].id,
            exports[2].id,
            other.id,
        ]
        assert not LongCall.objects.filter(automation_id__in=[e.id for e in exports[3:]]).exists()


def test_a_cancelled_instance_gives_its_place_back():
    with backend("dummy.DummyBackend"), testing.frozen_clock() as clock:
        exports = [Export(n=n, customer="acme") for n in range(3)]
        lifecycle.cancel(exports[0].id, clock())
        clock.advance(minutes=1)  # a queueing instance looks again after ATM_CONDITION_RECHECK_INTERVAL
        running = FlowTicket.objects.exclude(admitted=None).filter(released=None)
        assert sorted(running.values_list("automation_id", flat=True)) == [exports[1].id, exports[2].id]


class FlakyReport(flow.Automation):
    render = flow.Execute(this.render_pdf, threaded=True).Retry(3, backoff=10)
    end = flow.End()

    tries = 0  # a failed call's changes to data are undone, so the tries are counted here

    def render_pdf(self, task):
        FlakyReport.tries += 1
        if FlakyReport.tries < 2:
            raise ConnectionError("service down")
        return "rendered"


def test_a_failing_call_on_the_backend_is_retried_with_a_new_call():
    with backend("immediate.ImmediateBackend"), testing.frozen_clock() as clock:
        report = FlakyReport()
        waiting = AutomationTaskModel.objects.get(automation_id=report.id, status="render")
        assert waiting.finished is None and waiting.result["retry"]["attempt"] == 2
        clock.advance(seconds=10)
        rendered = AutomationTaskModel.objects.get(automation_id=report.id, status="render")
        assert rendered.result == "rendered" and rendered.message == "OK, attempt 2 of 3"
        assert row(report).finished
        assert len(calls(report)) == 2  # one call per attempt
