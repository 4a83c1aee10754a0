"""Paths standing on nodes their class no longer declares, as a deploy left them.

When a step begins, the walk (:mod:`.walk`) hands its paths here. A path on a node the class
renamed (``Meta.renamed_nodes``) moves to the new name: its open task keeps its row, its
start and its assignment (a wait goes on from when it began), and only the row's node name
changes. The Joins named in a path's frames are renamed too. A path on a node the class neither
declares nor renamed cannot go on: the walk holds the instance (status ``needs_migration``) and
nothing of it runs until a deploy maps the node (:mod:`automations.versions.retry` makes it due
again) or a person moves it in the console. Nodes that are declared ``flow.Obsolete`` need
nothing here: they are nodes, which send their paths on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from automations.models import AutomationTaskModel

from .paths import Frame

logger = logging.getLogger("automations.engine")


def settle(cls: type[Any], cursors: Iterable[Any]) -> list[Any]:
    """Rename the paths of ``cursors`` (the walk's) that stand on renamed nodes; return those held.

    A cursor has ``node``, ``task`` (the open task row) and ``stack`` (its frames as text).
    """
    renamed: dict[str, str] = cls._renamed_nodes
    held = []
    for cursor in cursors:
        if renamed and cursor.stack:
            cursor.stack = tuple(_renamed_frame(text, renamed) for text in cursor.stack)
        if cursor.node in cls._nodes:
            continue
        new = renamed.get(cursor.node)
        if new is not None and new in cls._nodes:
            _rename(cursor, new)
        else:
            held.append(cursor)
    if held:
        model = held[0].task.automation
        names = ", ".join(sorted({f"'{cursor.node}'" for cursor in held}))
        logger.warning(
            "Automation instance %s of %s stands on %s, which the class does not declare: held until "
            "a deploy maps the node or a person moves the instance.",
            model.pk, cls.__name__, names,
        )  # fmt: skip
    return held


def _rename(cursor: Any, new: str) -> None:
    task = cursor.task
    cursor.node = task.status = new
    if task.pk is not None:  # the row the instance has stood on since before the deploy
        AutomationTaskModel.objects.filter(pk=task.pk).update(status=new)


def _renamed_frame(text: str, renamed: dict[str, str]) -> str:
    frame = Frame.parse(text)
    if frame.join in renamed:
        return str(Frame(frame.split_task, renamed[frame.join], frame.item))
    return text
