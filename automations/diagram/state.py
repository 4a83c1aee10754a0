"""What the database says about a diagram: instances waiting per node, or one instance's path."""

from __future__ import annotations

from django.db.models import Count, Max
from django.utils.translation import gettext as _

from automations.models import AutomationModel, AutomationTaskModel

from .graph import Graph
from .svg import DiagramState


def class_state(graph: Graph) -> DiagramState:
    """Return how many running instances of the graph's class wait at each node (``counts``), and
    how many an error stopped at each node (``errors``: where the error happened)."""
    state = DiagramState()
    ours = AutomationTaskModel.objects.filter(automation__automation_class=graph.class_path)
    waiting = ours.filter(finished=None, automation__finished=False, automation__error="")
    for row in waiting.values("status").annotate(instances=Count("automation", distinct=True)):
        state.counts[row["status"]] = row["instances"]
    stopped = AutomationModel.objects.filter(automation_class=graph.class_path, finished=False).exclude(
        error=""
    )
    failures = ours.filter(automation__in=stopped, result__has_key="traceback")
    last_failures = failures.values("automation_id").annotate(last=Max("pk")).values("last")
    places = list(ours.filter(pk__in=last_failures).values_list("automation_id", "status"))
    # Stopped without a failing node (its class changed, say): where its paths stood.
    elsewhere = ours.filter(automation__in=stopped.exclude(pk__in=[pk for pk, _ in places]), finished=None)
    places += list(elsewhere.values_list("automation_id", "status").distinct())
    for status in {(pk, status) for pk, status in places}:
        state.errors[status[1]] = state.errors.get(status[1], 0) + 1
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
