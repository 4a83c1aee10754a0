"""Instances a deploy has mapped, made due so that their next step moves them.

After a deploy, an instance may stand on a node the new declaration renamed or declares
obsolete, and a held instance (``needs_migration``) may stand on a node the class knows again.
Nothing moves such an instance until it is stepped: a form waiting for a person, for one, is not
due. :func:`wake_movable` makes them all due at once (a worker does it when it starts,
``manage.py automation_versions --wake`` by hand); :func:`retry_held` looks at the held ones only,
which are few, and runs at every sweep, so that instances held by a worker still running the old
code are taken up by the new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from automations import lifecycle, registry
from automations.models import AutomationTaskModel, Status

from .shape import OBSOLETE


def movable(cls: type[Any]) -> set[str]:
    """Return the node names of ``cls`` a step moves instances away from: renamed and obsolete ones."""
    obsolete = {name for name, node in cls._nodes.items() if type(node).__name__ == OBSOLETE}
    renamed = {old for old, new in cls._renamed_nodes.items() if new in cls._nodes}
    return obsolete | renamed


def _ids_to_wake(statuses: list[str]) -> set[int]:
    """Return the instances of ``statuses`` with an open task that a step would move or let go on."""
    ids: set[int] = set()
    rows = AutomationTaskModel.objects.filter(finished=None, automation__status__in=statuses).values_list(
        "automation_id", "automation__automation_class", "automation__status", "status"
    )
    for automation_id, path, status, node in rows.iterator(chunk_size=2000):
        try:
            cls = registry.get(path)
        except registry.UnknownAutomationError:
            continue
        if node in movable(cls) or (status == Status.NEEDS_MIGRATION and _known(cls, node)):
            ids.add(automation_id)
    return ids


def _known(cls: type[Any], node: str) -> bool:
    return node in cls._nodes or cls._renamed_nodes.get(node) in cls._nodes


def _held_ready(held_ids: set[int]) -> set[int]:
    """Return the held instances of ``held_ids`` whose every open task stands on a node now known."""
    blocked = set()
    rows = AutomationTaskModel.objects.filter(finished=None, automation_id__in=held_ids).values_list(
        "automation_id", "automation__automation_class", "status"
    )
    for automation_id, path, node in rows:
        try:
            known = _known(registry.get(path), node)
        except registry.UnknownAutomationError:
            known = False
        if not known:
            blocked.add(automation_id)
    return held_ids - blocked


def wake_movable(now: datetime | None = None) -> int:
    """Make due every instance a step would now move (renamed, obsolete or known again); return how many."""
    candidates = _ids_to_wake(Status.alive())
    held = _ids_to_wake([Status.NEEDS_MIGRATION])
    ready = (candidates - held) | _held_ready(held)
    return _make_due(ready, now)


def retry_held(now: datetime | None = None) -> int:
    """Make due the held instances whose nodes are all known now; return how many."""
    return _make_due(_held_ready(_ids_to_wake([Status.NEEDS_MIGRATION])), now)


def _make_due(ids: set[int], now: datetime | None) -> int:
    if not ids:
        return 0
    with transaction.atomic():
        return lifecycle.make_due_after_deploy(ids, now or timezone.now())
