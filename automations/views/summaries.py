"""Where each instance of a list stands, in words: the nodes it waits at and its error in one line.

Lists (the instances, the bulk confirmation, the dashboard's latest instances) build these for a
page of instances with two queries, whatever the page's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from automations.flow.retrying import retry_state
from automations.models import AutomationTaskModel

from .error_summary import error_summary, latest_failures
from .node_labels import ClassCache, NodeLabel


@dataclass
class Standing:
    """Where one instance stands: ``now_at`` (its open tasks' nodes), ``retrying`` ("attempt 2 of 5"
    for each open task waiting for its next attempt), ``failed_at`` and ``failure`` (the node and
    task of the error that stopped it) and ``error`` (that error in one line)."""

    now_at: list[NodeLabel] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed_at: NodeLabel | None = None
    failure: AutomationTaskModel | None = None
    error: str = ""


def standings(models, classes: ClassCache | None = None) -> dict[int, Standing]:
    """Return the :class:`Standing` of each of the ``AutomationModel`` rows ``models``, by id."""
    classes = classes or ClassCache()
    models = list(models)
    paths = {model.pk: model.automation_class for model in models}
    result = {model.pk: Standing() for model in models}
    open_tasks = AutomationTaskModel.objects.filter(automation_id__in=list(paths), finished=None)
    for automation_id, node, task_result in open_tasks.order_by("pk").values_list(
        "automation_id", "status", "result"
    ):
        result[automation_id].now_at.append(classes.label(paths[automation_id], node))
        pending = retry_state(task_result)
        if pending is not None:
            words = _("attempt %(attempt)s of %(attempts)s") % {
                "attempt": pending.attempt,
                "attempts": pending.attempts,
            }
            result[automation_id].retrying.append(words)
    stopped = [model for model in models if model.error]
    failures = latest_failures(model.pk for model in stopped) if stopped else {}
    for model in stopped:
        standing = result[model.pk]
        standing.failure = failures.get(model.pk)
        standing.error = error_summary(model.error, standing.failure)
        if standing.failure is not None:
            standing.failed_at = classes.label(model.automation_class, standing.failure.status)
    return result
