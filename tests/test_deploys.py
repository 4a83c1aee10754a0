"""A deploy simulated: 100 instances of ``Journey`` v1 at every kind of node, then v2 deployed.

Without a mapping the deploy check fails, naming each node and how many instances stand there,
and the instances a step reaches are held (``needs_migration``), nothing crashes. The release
that maps the changes passes the check; every instance then finishes, and each effect happened
once (``NodeEffect`` rows are unique per instance and effect).
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.management import CommandError, call_command

from automations import registry, testing
from automations.checks import check_versions
from automations.models import AutomationModel, AutomationTaskModel, AutomationVersion, Status
from automations.versions import report, retry
from tests.deploy_flows import declare
from tests.testapp.models import NodeEffect

pytestmark = pytest.mark.django_db

GROUP = 20


@pytest.fixture
def person():
    return get_user_model().objects.create_user("pat", password="pw")


@pytest.fixture
def v1(clock):
    with testing.restored_registry():
        yield declare("v1")


def submit_all(ids, person):
    for automation_id in ids:
        testing.submit(automation_id, {"approved": "on"}, user=person)


def send_all(ids, token):
    cls = registry.get("tests.deploy_flows.Journey")  # the class as deployed now
    for automation_id in ids:
        cls(automation_id=automation_id).send_message("news", token)


def populate(cls, clock, person) -> dict[str, list[int]]:
    """Return the ids of 5 groups of v1 instances: at a timer, a form, a message, in a split, at a join."""
    early = [cls(n=n).id for n in range(4 * GROUP)]
    clock.advance(hours=1)  # past wait_time: all at the form
    groups = {"form": early[:GROUP], "message": early[GROUP : 2 * GROUP]}
    groups["split"], groups["join"] = early[2 * GROUP : 3 * GROUP], early[3 * GROUP :]
    submit_all(early[GROUP:], person)
    send_all(groups["join"], "message")  # into the split ...
    clock.advance(hours=2)  # ... and their right paths arrive at the join
    send_all(groups["split"], "message")  # into the split, both paths waiting
    groups["time"] = [cls(n=n).id for n in range(4 * GROUP, 5 * GROUP)]
    return groups


def standing(automation_id) -> tuple[str, ...]:
    return tuple(sorted(AutomationTaskModel.objects.filter(automation_id=automation_id, finished=None)
                        .values_list("status", flat=True)))  # fmt: skip


def where(ids) -> set[tuple[str, ...]]:
    return {standing(i) for i in ids}


def check_output(*args) -> tuple[str, str | None]:
    out = StringIO()
    try:
        call_command("automation_versions", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def test_a_deploy_without_a_mapping_fails_the_check_and_holds_instances_until_the_mapping_comes(
    v1, clock, person, settings
):
    groups = populate(v1, clock, person)
    assert where(groups["time"]) == {("wait_time",)}
    assert where(groups["form"]) == {("ask",)}
    assert where(groups["message"]) == {("wait_message",)}
    assert where(groups["split"]) == {("left", "right")}
    assert where(groups["join"]) == {("left", "merge")}
    assert AutomationVersion.objects.count() == 1
    out, failure = check_output("--check")
    assert failure is None and "Every running instance can go on" in out

    declare("v2-unmapped")  # the new code, without saying what became of the old nodes
    out, failure = check_output("--check")
    assert failure == (
        "80 running instance(s) would be stranded or their path changed under them (4 node(s)). "
        "See docs/versions.md."
    )
    lines = out.splitlines()
    assert lines[0].startswith("Journey.fan_out: the paths of this Split changed (then: left, right; now: ")
    assert "while 40 instances are inside it" in lines[0]
    assert lines[1].startswith("Journey.right: 20 instances stand on this node, which the class does not")
    assert lines[2].startswith("Journey.wait_message: 20 instances stand on this node")
    assert lines[3].startswith("Journey.wait_time: 20 instances stand on this node")
    assert [message.id for message in check_versions(databases=["default"])] == ["automations.W040"] * 4
    settings.ATM_VERSION_CHECK = "error"
    assert {type(message) for message in check_versions(databases=["default"])} == {checks.Error}

    # Workers with the new code step every instance: none crashes, those on unknown nodes are held.
    AutomationModel.objects.update(wake_at=clock())
    testing.run_until_idle()
    held = AutomationModel.objects.filter(status=Status.NEEDS_MIGRATION)
    assert set(held.values_list("pk", flat=True)) == {*groups["time"], *groups["message"], *groups["split"]}
    assert not AutomationModel.objects.filter(status=Status.FAILED).exists()
    assert where(groups["time"]) == {("wait_time",)}  # nothing moved

    declare("v2")  # the release that maps them
    out, failure = check_output("--check")
    assert failure is None, out
    assert "Journey.wait_time: 20 instances move to wait_an_hour (renamed)." in out
    assert "Journey.wait_message: 20 instances go on at fan_out (obsolete node)." in out
    assert "Journey.right: 20 instances go on at right_v2 (obsolete node)." in out
    assert "Reviewed: instances already inside go on without the audit path" in out
    assert check_versions(databases=["default"]) == []

    assert retry.wake_movable() == 60  # what a worker does when it starts
    testing.run_until_idle()
    assert where(groups["time"]) == {("wait_an_hour",)}  # the same visit: it still waits for its hour
    assert not AutomationTaskModel.objects.filter(automation_id__in=groups["time"], status="wait_time")
    assert where(groups["message"]) == {("left", "merge", "right_v2")}  # on into the split; audit ran
    finish_everything(groups, clock, person)


def finish_everything(groups, clock, person):
    everyone = [i for ids in groups.values() for i in ids]
    clock.advance(hours=1)  # the renamed timers fire at their old time
    submit_all([i for i in everyone if "ask" in standing(i)], person)
    send_all(everyone, "left")
    clock.advance(hours=3)
    assert AutomationModel.objects.filter(pk__in=everyone, status=Status.FINISHED).count() == 5 * GROUP, [
        testing.where(i) for i in everyone if not AutomationModel.objects.get(pk=i).finished
    ][:5]
    effects = {}
    for automation_id, label in NodeEffect.objects.values_list("automation_id", "node"):
        effects.setdefault(automation_id, []).append(label)
    for automation_id in everyone:
        assert effects[automation_id].count("done-v1") == 1  # every one started under v1
        assert {"begin", "timer", "left", "right"} <= set(effects[automation_id])
    for automation_id in groups["time"]:
        assert "remind" in effects[automation_id] and "audit" in effects[automation_id]  # v2's new nodes
    for automation_id in groups["split"] + groups["join"]:
        assert "audit" not in effects[automation_id]  # inside the split before the deploy: as reviewed
    assert report.compare() == []


def test_a_mapped_deploy_moves_every_instance_on_and_new_ones_start_under_v2(v1, clock, person):
    groups = populate(v1, clock, person)
    v2 = declare("v2")
    out, failure = check_output("--check")
    assert failure is None
    assert retry.wake_movable() == 3 * GROUP  # at wait_time, wait_message, and right in the split
    testing.run_until_idle()
    assert not AutomationModel.objects.filter(status=Status.NEEDS_MIGRATION).exists()
    newcomer = v2(n="new")
    assert newcomer.started_version == 2 and v2(automation_id=groups["time"][0]).started_version == 1
    assert AutomationVersion.objects.count() == 2
    finish_everything(groups, clock, person)
    clock.advance(hours=1)
    testing.submit(newcomer, {"approved": "on"}, user=person)
    newcomer.send_message("news", "left")
    clock.advance(hours=3)
    assert newcomer.finished()
    assert NodeEffect.objects.filter(automation_id=newcomer.id, node="done-v2").count() == 1
