"""Fan-outs: one path per item of a list, at most ``limit`` at once, their results collected in order.

A ``ForEach`` node decides a :class:`~automations.outcomes.FanOut`. The walk writes the node's
task, whose id the paths name, and starts a path for each of the first ``limit`` items; the frame
of such a path carries its item's index (``"12#3@merge"``, see :mod:`.paths`). When a path arrives
at the Join (its Join task is finished at once) or ends before it, the path of the next item
starts: an item not started yet has no row and holds nothing, and an arrived path is not loaded
again. The ForEach's task keeps the state as its result::

    {"items": [...], "started": 3, "done": 1, "results": [...], "limit": 3, "into": "receipts",
     "target": "ship", "join": "shipped"}

A path's result is what the node before the Join returned (``None`` for a path that ended without
reaching the Join). When the last path is done the results go into the data under ``into``, in
the items' order, and the instance goes on after the Join.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from automations.exceptions import AutomationsError
from automations.models import AutomationTaskModel
from automations.outcomes import FanOut, PathItem, current_path_item

from .paths import Frame, item_of, split_stack

#: Loads a fan-out's task by id, in a step after the one that started it (``None``: it is gone).
TaskLoader = Callable[[str], AutomationTaskModel | None]


@dataclass
class PathDone:
    """What follows a fan-out's path: the next item's path, or (after the last) the results."""

    task: AutomationTaskModel  # the ForEach's task, whose state changed
    target: str
    next_index: int | None = None
    results: list[Any] | None = None  # set when every path is done
    into: str | None = None


class FanOuts:
    """The fan-outs the paths of one step belong to, their tasks loaded once per step."""

    def __init__(self, load: TaskLoader | None = None) -> None:
        self.load = load
        self.tasks: dict[str, AutomationTaskModel] = {}

    @staticmethod
    def state_for(outcome: FanOut, join: str | None) -> dict[str, Any]:
        """Return the state a new fan-out's task stores: its items and how many paths start now."""
        count = len(outcome.items)
        started = count if outcome.limit is None else min(outcome.limit, count)
        return {"items": outcome.items, "started": started, "done": 0,
                "results": [None] * count if outcome.into else None, "limit": outcome.limit,
                "into": outcome.into, "target": outcome.target, "join": join}  # fmt: skip

    def begun(self, task: AutomationTaskModel) -> None:
        """Note the written task of a fan-out that starts in this step."""
        self.tasks[str(task.pk)] = task

    def task(self, split_task: str) -> AutomationTaskModel:
        """Return the task of the fan-out ``split_task`` (its id as text)."""
        task = self.tasks.get(split_task)
        if task is None:
            task = self.load(split_task) if self.load is not None else None
            if task is None or not isinstance(task.result, dict) or "items" not in task.result:
                raise AutomationsError(f"The task {split_task} of a ForEach() node has no list of items.")
            self.tasks[split_task] = task
        return task

    def path_done(self, frame_text: str, result: Any) -> PathDone:
        """Note that the path of ``frame_text`` is done with ``result``; say what follows."""
        frame = Frame.parse(frame_text)
        task = self.task(frame.split_task)
        state = cast(dict[str, Any], task.result)  # task() made sure it is the state
        state["done"] += 1
        if state["results"] is not None and frame.item is not None:
            state["results"][frame.item] = result
        done = PathDone(task, state["target"], into=state["into"])
        if state["started"] < len(state["items"]):
            done.next_index = state["started"]
            state["started"] += 1
        elif state["done"] >= len(state["items"]):
            done.results = state["results"] if state["results"] is not None else []
        return done

    def item(self, stack: tuple[str, ...]) -> PathItem | None:
        """Return the item of the innermost fan-out the path with the frames ``stack`` runs for."""
        for text in reversed(stack):
            index = item_of(text)
            if index is not None:
                items = cast(dict[str, Any], self.task(Frame.parse(text).split_task).result)["items"]
                return PathItem(items[index], index)
        return None


def item_of_task(task: AutomationTaskModel) -> PathItem | None:
    """Return the item of the fan-out path ``task`` is on (the innermost fan-out's), or ``None``.

    For code that handles a path's task outside a step, such as the task page of a form.
    """
    tasks = AutomationTaskModel.objects.filter(automation_id=task.automation_id)
    fan_outs = FanOuts(load=lambda pk: tasks.filter(pk=pk).first())
    try:
        return fan_outs.item(split_stack(task.path or ""))
    except AutomationsError:  # the fan-out's task is gone, or keeps no list of items
        return None


@contextmanager
def path_item_of(task: AutomationTaskModel) -> Iterator[PathItem | None]:
    """Let ``Automation.item`` be the item of ``task``'s fan-out path inside the ``with`` block."""
    found = item_of_task(task)
    token = current_path_item.set(found)
    try:
        yield found
    finally:
        current_path_item.reset(token)
