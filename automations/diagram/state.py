"""What the database says about a diagram: instances waiting per node, or one instance's path."""

from __future__ import annotations

from django.db.models import Count, Max
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from automations.models import AutomationModel, AutomationTaskModel, Status

from .graph import Graph
from .path import is_failure, walked
from .svg import DiagramState


def class_state(graph: Graph) -> DiagramState:
    """Return how many running instances of the graph's class wait at each node (``counts``), and
    how many an error stopped at each node (``errors``: where the error happened)."""
    state = DiagramState()
    ours = AutomationTaskModel.objects.filter(automation__automation_class=graph.class_path)
    waiting = ours.filter(finished=None, automation__status__in=Status.active())
    for row in waiting.values("status").annotate(instances=Count("automation", distinct=True)):
        state.counts[row["status"]] = row["instances"]
    stopped = AutomationModel.objects.filter(automation_class=graph.class_path, status=Status.FAILED)
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
    """Return the way ``automation`` went through ``graph`` and where it stands now.

    ``visited``: the nodes that ran; ``skipped``: those it passed without running them (a
    ``SkipIf``, a path closed by ``End``) or can no longer reach; ``taken``: the edges it went
    along, as ``(source, target, kind)``; ``visits``: how often it came to each node.
    """
    tasks = list(
        AutomationTaskModel.objects.filter(automation=automation)
        .order_by("pk")
        .only("status", "created", "finished", "path", "message", "result")
    )
    state = DiagramState(instance=True)
    known = {node.name for node in graph.nodes}
    failures = []
    for task in tasks:
        if task.status not in known:
            continue
        if task.finished is None:
            if automation.is_active:
                state.current.add(task.status)
        elif is_failure(task):
            failures.append(task.status)
        elif task.message in ("cancelled", "killed"):  # closed by a person ("killed" before 0004)
            state.cancelled.add(task.status)
    way = walked(graph, tasks)
    state.visited, state.taken, state.visits = way.ran, way.taken, dict(way.visits)
    if automation.status == Status.FAILED:  # where it stands is where it failed
        state.failed = state.current | set(failures[-1:])
        state.current = set()
    if automation.status != Status.CANCELLED:
        state.cancelled = set()
    state.skipped = known - state.visited - state.current - state.failed - state.cancelled
    state.skipped -= _ahead(graph, state, way)
    return state


def _ahead(graph: Graph, state: DiagramState, way) -> set[str]:
    """Return the nodes the instance may still reach from where it stands (none once it finished)."""
    places = state.current | state.failed
    if not way.visits and graph.nodes and not state.cancelled:
        places = {graph.nodes[0].name}  # not started yet
    ahead: set[str] = set()
    while places:
        ahead |= places
        places = {edge.target for edge in graph.edges if edge.source in places} - ahead
    return ahead


def instance_status(automation: AutomationModel, state: DiagramState) -> str:
    """Return a sentence that says where ``automation`` stands, by its status."""
    if automation.status == Status.FINISHED:
        return _("Finished.")
    if automation.status == Status.FAILED:
        return _("Stopped by an error at %(nodes)s.") % {"nodes": ", ".join(sorted(state.failed)) or "?"}
    if automation.status == Status.CANCELLED:
        if state.cancelled:
            return _("Cancelled at %(nodes)s.") % {"nodes": ", ".join(sorted(state.cancelled))}
        return _("Cancelled.")
    if automation.status == Status.NEEDS_MIGRATION:  # on a node the diagram of the class does not have
        return _("Needs migration: it stands on a node its class no longer declares.")
    if not state.current and not state.visits:
        return _("Not started yet.")
    return _("%(status)s at %(nodes)s.") % {
        "status": capfirst(automation.get_status_display()),
        "nodes": ", ".join(sorted(state.current)) or "?",
    }


def instance_message(automation: AutomationModel, state: DiagramState) -> dict:
    """Return the websocket message that tells a diagram where ``automation`` stands."""
    return {
        "type": "diagram",
        "automation": automation.pk,
        "current": sorted(state.current),
        "visited": sorted(state.visited),
        "skipped": sorted(state.skipped),
        "failed": sorted(state.failed),
        "cancelled": sorted(state.cancelled),
        "taken": sorted(list(edge) for edge in state.taken),
        "visits": dict(sorted(state.visits.items())),
        "finished": automation.finished,
        "state": automation.status,
        "status": instance_status(automation, state),
    }
