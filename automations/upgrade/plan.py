"""Where each instance of a django-automations 0.9 database goes: a plan computed from its rows.

The 0.9 rows (see docs/upgrading.md) keep an instance's position as its open tasks, linked to the
tasks they came from by ``previous_id``; a ``Split`` task's ``result`` lists the tasks it started and
a path that reached its ``Join`` early left a finished task with the message ``"Open Join"``. The
engine of today keeps positions as open tasks too, and the splits a path is inside in the task's
``path`` (frames ``"<split task id>@<join name>"``). A plan says which rows change and how; it
writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from automations import registry
from automations.flow.control import Join, Split
from automations.flow.repeat import Repeat

OPEN_JOIN = "Open Join"
SPLIT = "Split"


@dataclass
class Position:
    """An open task after the upgrade: the node a path waits at, and why."""

    task_id: int
    node: str
    path: str
    waits_for: str


@dataclass
class InstancePlan:
    """What happens to one instance: its new state, the row changes, and what cannot be carried over."""

    id: int
    automation_class: str
    state: str  # "running", "finished" or "error"
    positions: list[Position] = field(default_factory=list)
    instance_update: dict = field(default_factory=dict)
    task_updates: dict[int, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return one line saying where the instance moves."""
        head = f"#{self.id} {self.automation_class}: {self.state}"
        if self.state == "error":
            return f"{head}, listed among errors ({self.instance_update['error']})"
        if self.state == "finished":
            return f"{head}, kept as history"
        where = "; ".join(f"at {p.node} ({p.waits_for})" for p in self.positions)
        where = where or "starts at its first node"
        return f"{head}, {where}"


def legacy_key(automation_class: str, automation_id: int) -> str:
    """Return what ``get_key()`` of django-automations 0.9 returned for an instance.

    0.9 derived it from the ``automation_class`` column and the id each time it was asked; the
    ``key`` column held the same value only once the row had been written again after the start
    (the instance slept, finished, failed or saved itself), else a value derived from the class
    alone, shared by all such instances of the class.
    """
    return hashlib.sha1(f"{automation_class}-{automation_id}".encode(), usedforsecurity=False).hexdigest()


def plan_instances(instances, tasks, *, now) -> list[InstancePlan]:
    """Plan the instances ``instances`` (dicts of 0.9 columns) with all their ``tasks``.

    ``wake_at`` stands for the 0.9 column ``paused_until``.
    """
    by_instance: dict[int, list[dict]] = {}
    for task in tasks:
        by_instance.setdefault(task["automation_id"], []).append(task)
    ordered = sorted(instances, key=lambda row: row["id"])
    return [_plan(row, by_instance.get(row["id"], []), now) for row in ordered]


def _plan(row, tasks, now) -> InstancePlan:
    plan = InstancePlan(row["id"], row["automation_class"], "running")
    cls = _class(row["automation_class"], plan)
    key = legacy_key(row["automation_class"], row["id"])  # unique: one per class and id
    if row["key"] != key:  # the links 0.9 made carry get_key(), not the stored column
        plan.instance_update["key"] = key
    for task in tasks:
        _convert_failure(task, plan)
    open_tasks = [t for t in tasks if t["finished"] is None]
    stopped = [t for t in open_tasks if _failure(t) is not None]
    if row["finished"] and stopped:
        _plan_error(row, stopped[0], plan)
    elif row["finished"]:
        plan.state = "finished"
        if row["wake_at"] is not None:
            plan.instance_update["wake_at"] = None
    else:
        _plan_running(row, tasks, cls, now, plan)
    return plan


def _class(path, plan):
    try:
        return registry.get(path)
    except registry.UnknownAutomationError:
        plan.problems.append(f"its class '{path}' is not declared in the code any more")
        return None


def _failure(task):
    result = task["result"]
    return result if isinstance(result, dict) and "error" in result else None


def _convert_failure(task, plan):
    """Keep a failed task's text traceback in today's form; the stored technical page goes."""
    failure = _failure(task)
    if failure is None:
        if isinstance(task["result"], dict) and "html" in task["result"]:
            result = {k: v for k, v in task["result"].items() if k != "html"}
            plan.task_updates.setdefault(task["id"], {})["result"] = result
        return
    text = str(failure["error"])
    exception = task["message"].partition("(")[0] or "Exception"
    result = {"error": text, "exception": exception, "traceback": text}
    plan.task_updates.setdefault(task["id"], {})["result"] = result


def _plan_error(row, task, plan):
    plan.state = "error"
    name = row["automation_class"].rpartition(".")[2]
    error = f"{name}.{task['status']}: {task['message']}"[:2000]
    plan.instance_update.update(finished=False, error=error, wake_at=None)
    plan.task_updates.setdefault(task["id"], {})["finished"] = row["updated"]


def _plan_running(row, tasks, cls, now, plan):
    by_id = {t["id"]: t for t in tasks}
    positions = [t for t in tasks if t["finished"] is None or t["message"] == OPEN_JOIN]
    if tasks and not positions:
        plan.state = "error"
        error = "Carried over from django-automations 0.9 without an open task: it cannot go on by itself."
        plan.instance_update.update(error=error, wake_at=None)
        plan.problems.append("it has no open task, so it cannot go on; it is listed among errors")
        return
    nodes = cls._nodes if cls is not None else {}
    for task in positions:
        name = registry.node_name(cls, task["status"]) if cls is not None else None
        node = nodes.get(name) if name is not None else None  # a renamed node (Meta.renamed_nodes) too
        if cls is not None and node is None:
            plan.problems.append(f"its node '{task['status']}' does not exist in the code any more")
        path = "/".join(_frames(task, by_id, nodes))
        update = plan.task_updates.setdefault(task["id"], {})
        if path:
            update["path"] = path
        if task["message"] == OPEN_JOIN:
            update.update(finished=None, message="", result=None)
        if isinstance(node, Repeat) and row["wake_at"] is not None:
            anchor = min(t["created"] for t in tasks if t["status"] == task["status"])
            update["result"] = {"anchor": anchor.isoformat(), "next": row["wake_at"].isoformat()}
        plan.positions.append(Position(task["id"], task["status"], path, _waits_for(task, node, row)))
    plan.instance_update["wake_at"] = row["wake_at"] or now


def _frames(task, by_id, nodes) -> list[str]:
    """Return the splits ``task`` is inside, outermost first, from the chain of tasks it came from."""
    chain, seen, previous = [], {task["id"]}, task["previous_id"]
    while previous is not None and previous in by_id and previous not in seen:
        seen.add(previous)
        chain.append(by_id[previous])
        previous = by_id[previous]["previous_id"]
    stack: list[tuple[int, str | None]] = []
    for earlier in reversed(chain):
        node = nodes.get(earlier["status"])
        if isinstance(node, Split) or (earlier["message"] == SPLIT and isinstance(earlier["result"], list)):
            stack.append((earlier["id"], getattr(node, "matching_join", None)))
        elif (
            stack
            and earlier["message"] != OPEN_JOIN
            and (isinstance(node, Join) or stack[-1][1] == earlier["status"])
        ):
            stack.pop()
    return [f"{pk}@{join}" if join else str(pk) for pk, join in stack]


def _waits_for(task, node, row) -> str:
    if task["message"] == OPEN_JOIN:
        return "at its join, for the other paths"
    if task["requires_interaction"] or task["interaction_user_id"] or task["interaction_group_id"]:
        return "a person's input"
    if row["wake_at"] is not None:
        return f"sleeps until {row['wake_at'].isoformat()}"
    if node is None:
        return "a step"
    return "a condition or a message"
