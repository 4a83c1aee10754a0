"""The way one instance went through its graph, read from its task rows.

Every node visit is a task row, and the engine writes the rows in the order it visits the nodes
(ascending ids). A finished row leads on to the nodes its outcome chose: an ``If`` to its ``"yes"``
or ``"no"`` branch (the row's message), a node that failed to its ``OnError`` node (the row's
result holds the traceback), a ``Split`` to each of its paths, any other node to its next one. The
row that follows it is the next visit of one of those nodes on the same path, or on a path the
``Split`` started (its frame names the split's row), or on the path a ``Join`` merged into.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from automations.engine.paths import Frame, split_stack
from automations.flow.control import BRANCH_TAKEN
from automations.flow.deadlines import EXPIRED
from automations.models import AutomationTaskModel

from .graph import DEADLINE, ELSE, ON_ERROR, THEN, Edge, Graph

SKIPPED = "skipped"  # the message of a node a SkipIf or SkipAfter skipped
CLOSED = ("ended", "cancelled", "killed")  # a waiting path closed by End or by a person: never ran
BRANCH_KINDS = {BRANCH_TAKEN[True]: THEN, BRANCH_TAKEN[False]: ELSE}


@dataclass
class Walked:
    """What the task rows say: the edges taken, the visits per node, the nodes that ran."""

    taken: set[tuple[str, str, str]] = field(default_factory=set)
    visits: Counter[str] = field(default_factory=Counter)
    ran: set[str] = field(default_factory=set)


@dataclass
class _Exit:
    """A finished visit whose following visits are still to be found, and how many may follow."""

    task: AutomationTaskModel
    ways: list[Edge]
    left: int


def walked(graph: Graph, tasks: Iterable[AutomationTaskModel]) -> Walked:
    """Return the way the task rows ``tasks`` (one instance's, by ascending id) went through ``graph``."""
    kinds = {node.name: node.kind for node in graph.nodes}
    leaving: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        leaving.setdefault(edge.source, []).append(edge)
    result = Walked()
    exits: list[_Exit] = []
    for task in tasks:
        if task.status not in kinds:
            continue  # an audit line, or a node no longer declared
        result.visits[task.status] += 1
        if task.finished is not None and task.message != SKIPPED and task.message not in CLOSED:
            result.ran.add(task.status)
        came = _came_from(exits, task, kinds)
        if came is not None:
            result.taken |= {(e.source, e.target, e.kind) for e in came.ways if e.target == task.status}
            _leave(exits, came, kinds)
        ways = ways_out(task, leaving.get(task.status, []), kinds[task.status])
        if ways:
            paths = len({edge.target for edge in ways}) if kinds[task.status] == "split" else 1
            exits.append(_Exit(task, ways, paths))
    return result


def ways_out(task: AutomationTaskModel, edges: list[Edge], kind: str) -> list[Edge]:
    """Return the edges of ``edges`` (those leaving the task's node) that the visit ``task`` chose."""
    if task.finished is None or task.message in CLOSED:
        return []
    if is_failure(task):
        return [edge for edge in edges if edge.kind == ON_ERROR]
    if task.message == EXPIRED:
        return [edge for edge in edges if edge.kind == DEADLINE]
    ways = [edge for edge in edges if edge.kind not in (ON_ERROR, DEADLINE)]
    if kind == "if" and task.message in BRANCH_KINDS:
        return [edge for edge in ways if edge.kind == BRANCH_KINDS[task.message]]
    return ways  # a decision recorded without its answer (or skipped): either branch may be it


def is_failure(task: AutomationTaskModel) -> bool:
    """Return whether the visit ``task`` ended with an exception (its result holds the traceback)."""
    return isinstance(task.result, dict) and "traceback" in task.result


def _came_from(exits: list[_Exit], task, kinds) -> _Exit | None:
    """Return the latest finished visit that led on to ``task``, or ``None`` (a first or retried visit)."""
    for candidate in reversed(exits):
        before = candidate.task
        if before.pk >= task.pk or before.finished > task.created:
            continue
        if any(edge.target == task.status for edge in candidate.ways) and _continues(
            before, task, kinds[before.status]
        ):
            return candidate
    return None


def _continues(before, after, kind: str) -> bool:
    """Return whether a path leaving the visit ``before`` (of a node of ``kind``) may go on at ``after``."""
    if before.path == after.path:
        return True
    outer, inner = split_stack(before.path), split_stack(after.path)
    if kind == "split":  # a path the split started: its last frame names the split's row
        return inner[:-1] == outer and Frame.parse(inner[-1]).split_task == str(before.pk)
    if kind == "join":  # the paths merged: one frame fewer
        return outer[:-1] == inner
    return False


def _leave(exits: list[_Exit], came: _Exit, kinds) -> None:
    """Count one way taken out of ``came``; paths merged at a Join leave it all at once."""
    came.left -= 1
    done = {id(came)} if came.left <= 0 else set()
    if kinds[came.task.status] == "join":
        done |= {id(e) for e in exits if e.task.status == came.task.status and e.task.path == came.task.path}
    exits[:] = [exit for exit in exits if id(exit) not in done]
