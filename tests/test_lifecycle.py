"""An instance's status: what each kind of waiting makes it, and that one module writes it."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from automations import flow, instance_actions
from automations.engine.walk import status_of_waiting
from automations.flow import this
from automations.models import AutomationModel, Status
from automations.outcomes import MESSAGE, PERSON, TIME
from automations.testing import frozen_clock
from tests.approvals.forms import ApprovalForm
from tests.people.flows import make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


class Kinds(flow.Automation):
    choose = flow.If(this.kind_is_form).Then(this.ask).Else(this.pause)
    ask = flow.Form(ApprovalForm).User(username="ada").Next(this.end)
    pause = flow.Execute().AfterWaitingFor(timedelta(hours=1)).Next(this.until_ready)
    until_ready = flow.Execute().AsSoonAs(this.ready)
    end = flow.End()

    def kind_is_form(self, task):
        return self.data.get("kind") == "form"

    def ready(self, task):
        return self.data.get("ready", False)

    def receive_ready(self, token, data):
        self.data["ready"] = True


class Breaks(flow.Automation):
    explode = flow.Execute(this.fail)
    end = flow.End()

    def fail(self, task):
        raise ValueError("no")


def status(automation):
    return AutomationModel.objects.get(pk=automation.id).status


def test_each_kind_of_waiting_gives_its_status():
    make_user("ada")
    with frozen_clock() as clock:
        assert status(Kinds(kind="form")) == Status.WAITING_FOR_PERSON
        timed = Kinds(kind="time")
        assert status(timed) == Status.WAITING_FOR_TIME
        clock.advance(timedelta(hours=1, seconds=1))
        assert status(timed) == Status.WAITING_FOR_MESSAGE  # AsSoonAs: a condition on the data
        timed.send_message("ready")
        assert status(timed) == Status.FINISHED
    assert status(Breaks()) == Status.FAILED


def test_a_message_left_to_the_worker_makes_the_instance_running_until_its_step():
    from automations.engine import deliver

    with frozen_clock() as clock:
        timed = Kinds(kind="time")
        clock.advance(timedelta(hours=1, seconds=1))
        deliver(timed, "ready", walk=False)
        assert status(timed) == Status.RUNNING  # due now: a worker steps it
        timed.run()
        assert status(timed) == Status.FINISHED


@pytest.mark.parametrize(
    ("awaited", "due", "expected"),
    [
        ({PERSON, TIME}, False, Status.WAITING_FOR_PERSON),
        ({MESSAGE, TIME}, False, Status.WAITING_FOR_MESSAGE),
        ({TIME}, False, Status.WAITING_FOR_TIME),
        (set(), False, Status.WAITING_FOR_MESSAGE),  # paths at a Join, their siblings elsewhere
        ({PERSON}, True, Status.RUNNING),  # another path goes on now
    ],
)
def test_what_the_paths_wait_for_decides_the_status(awaited, due, expected):
    assert status_of_waiting(awaited, due=due) == expected


def test_a_retry_makes_a_failed_instance_running_and_a_cancel_cancelled():
    broken = Breaks()
    operator = make_user("olga", superuser=True)
    instance_actions.perform(AutomationModel.objects.get(pk=broken.id), "retry", operator)
    assert status(broken) == Status.FAILED  # it failed again, as it should
    row = AutomationModel.objects.get(pk=broken.id)
    instance_actions.perform(row, "cancel", operator, reason="Won't fix.")
    assert status(broken) == Status.CANCELLED
    assert AutomationModel.objects.running().filter(pk=broken.id).count() == 0


class PerEmail(flow.Automation):
    unique = ("email",)
    wait = flow.Execute().AsSoonAs(this.never)
    end = flow.End()

    def never(self, task):
        return False


def test_a_cancelled_unique_instance_frees_its_key():
    first = PerEmail(email="ada@example.com")
    assert PerEmail(email="ada@example.com").id == first.id
    instance_actions.perform(first._model, "cancel", make_user("olga", superuser=True), reason="Duplicate.")
    assert PerEmail(email="ada@example.com").id != first.id


VALUE = r"(Status\.\w+|[\"'](running|waiting_for_\w+|needs_migration|failed|cancelled|finished)[\"'])"
WRITE_CALL = r"\.(update|create|bulk_create|update_or_create|get_or_create)\("
STATUS_WRITE = re.compile(WRITE_CALL + r"(?:[^()]|\([^()]*\))*?\bstatus\s*=\s*" + VALUE)


def status_writes(source: str) -> list[str]:
    return [match.group(0)[:80] for match in STATUS_WRITE.finditer(source)]


def test_the_search_for_status_writes_finds_them():
    assert status_writes('Model.objects.filter(pk=1).update(\n    error="x", status=Status.FAILED\n)')
    assert status_writes("Model.objects.create(data={}, status='cancelled')")
    assert not status_writes("Model.objects.filter(status=Status.FAILED)")  # a read
    assert not status_writes("Task.objects.create(automation=row, status=failed.status)")  # a node name


def test_only_the_lifecycle_module_writes_the_status():
    """Every other module reads the column; a write elsewhere would be a second truth."""
    writers = []
    for path in sorted((ROOT / "automations").rglob("*.py")) + sorted((ROOT / "consumers").rglob("*.py")):
        if "migrations" in path.parts or path.name == "lifecycle.py":
            continue
        writers += [f"{path.relative_to(ROOT)}: {write}" for write in status_writes(path.read_text())]
    assert writers == []
