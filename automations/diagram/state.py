"""What the database says about a diagram: instances waiting per node, or one instance's path."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from automations.models import AutomationModel, AutomationTaskModel

from .graph import Graph
from .svg import DiagramState


def class_state(graph: Graph) -> DiagramState:
    """Return how many running instances of the graph's class wait at each node (and how many an
    error stopped there)."""
    rows = (
        AutomationTaskModel.objects.filter(
            automation__automation_class=graph.class_path, automation__finished=False, finished=None
        )
        .values("status")
        .annotate(
            waiting=Count("automation", distinct=True, filter=Q(automation__error="")),
            stopped=Count("automation", distinct=True, filter=~Q(automation__error="")),
        )
    )
    state = DiagramState()
    for row in rows:
        if row["waiting"]:
            state.counts[row["status"]] = row["waiting"]
        if row["stopped"]:
            state.errors[row["status"]] = row["stopped"]
    return state


def instance_state(graph: Graph, automation: AutomationModel) -> DiagramState:
    """Return the path ``automation`` took through ``graph`` and where it stands now."""
    tasks = list(
        AutomationTaskModel.objects.filter(automation=automation)
        .order_by("pk")
        .only("status", "created", "finished", "path", "result")
    )
    state = DiagramState(instance=True)
    known = {node.name for node in graph.nodes}
    successors: dict[str, set[str]] = {}
    for edge in graph.edges:
        successors.setdefault(edge.source, set()).add(edge.target)
    failures = []
    for position, task in enumerate(tasks):
        if task.status not in known:
            continue
        if task.finished is None:
            if not automation.finished:
                state.current.add(task.status)
        else:
            state.visited.add(task.status)
            if isinstance(task.result, dict) and "traceback" in task.result:
                failures.append(task.status)
        previous = _came_from(tasks[:position], task, successors)
        if previous is not None:
            state.taken.add((previous.status, task.status))
    if automation.error:  # stopped: where it stands is where it failed
        state.failed = state.current | set(failures[-1:])
        state.current = set()
    return state


def _came_from(earlier, task, successors):
    """Return the task the path of ``task`` came from: the latest earlier visit it may follow."""
    for candidate in reversed(earlier):
        if task.status not in successors.get(candidate.status, ()):
            continue
        if candidate.finished is None or candidate.finished > task.created:
            continue
        if _related_paths(candidate.path, task.path):
            return candidate
    return None


def _related_paths(before: str, after: str) -> bool:
    """Return whether a path at ``before`` may continue at ``after`` (the same, split or joined)."""
    if before == after:
        return True
    return after.startswith(before + "/") or before.startswith(after + "/") or not before or not after


def instance_status(automation: AutomationModel, state: DiagramState) -> str:
    """Return a sentence that says where ``automation`` stands."""
    if automation.finished:
        return _("Finished.")
    if automation.error:
        return _("Stopped by an error at %(nodes)s.") % {"nodes": ", ".join(sorted(state.failed)) or "?"}
    if state.current:
        return _("Waiting at %(nodes)s.") % {"nodes": ", ".join(sorted(state.current))}
    return _("Not started yet.")


def instance_message(automation: AutomationModel, state: DiagramState) -> dict:
    """Return the websocket message that tells a diagram where ``automation`` stands."""
    return {
        "type": "diagram",
        "automation": automation.pk,
        "current": sorted(state.current),
        "visited": sorted(state.visited),
        "failed": sorted(state.failed),
        "taken": sorted([source, target] for source, target in state.taken),
        "finished": automation.finished,
        "status": instance_status(automation, state),
    }
