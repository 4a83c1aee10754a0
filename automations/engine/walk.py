"""The walk: every open path of one instance moved as far as it goes, decided from the nodes' outcomes.

A :class:`Walk` holds the paths of one step (a *cursor* each: the node, its task row, the splits it
is inside), visits their nodes one after another, and decides from each outcome (``Proceed``,
``Wait``, ``Finish``, ``JoinArrival``) what happens to the path: it moves on, waits, ends, or meets
its siblings at a ``Join``. It sends no SQL: visiting a node and writing task rows are the step's
(:mod:`.steps`), which hands them in as ``visit_node`` and a :class:`~.writes.TaskWrites`. Paths
on nodes a deploy renamed or removed are settled by :mod:`.moves` before the walk begins (a
renamed open task's node name is the one row it writes itself).
"""

from __future__ import annotations

import json
import math
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from automations.exceptions import AutomationsError
from automations.models import AutomationTaskModel, Status
from automations.outcomes import (
    MESSAGE,
    PERSON,
    UNCHANGED,
    FanOut,
    Finish,
    JoinArrival,
    Outcome,
    Proceed,
    Submission,
    Wait,
)

from . import moves
from .fanout import FanOuts
from .paths import frame, frame_join, item_of, split_stack, within
from .writes import TaskWrites, new_task_row

MESSAGE_LENGTH = AutomationTaskModel._meta.get_field("message").max_length


@dataclass
class StepResult:
    """What one step of one instance did."""

    automation_id: int
    stopped_at: list[str] = field(default_factory=list)
    finished_at: str | None = None  # the node where the instance finished: its End, or a path's last node
    wake_at: datetime | None = None
    finished: bool = False
    error: str = ""
    visits: int = 0
    skipped: bool = False
    already_finished: bool = False
    status: str = ""  # the instance's Status after the step; empty if the step did not run
    held: list[str] = field(default_factory=list)  # unknown nodes that hold the instance (needs_migration)


@dataclass
class Cursor:
    """A path at a node: the node's name, its (open or unsaved) task, and the splits it is inside.

    Each frame of ``stack`` is ``"<split task id>@<join name>"``: the split that started the path
    and the ``Join`` where its paths meet.
    """

    node: str
    task: AutomationTaskModel
    stack: tuple[str, ...] = ()
    carried: Any = None  # the result of the node the path left to come here (a fan-out path's result)


class NodeFailed(AutomationsError):
    """A node's code raised ``error``; the walk records it on the task and stops or takes ``OnError``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


class Walk:
    """The paths of one step of one instance and the decisions on them."""

    def __init__(
        self,
        automation: Any,
        now: datetime,
        writes: TaskWrites,
        *,
        visit_node: Callable[[Any, Cursor], Outcome],
        on_failure: Callable[[AutomationTaskModel, BaseException], None],
        submission: Submission | None = None,
        fan_outs: FanOuts | None = None,
    ) -> None:
        self.automation, self.now, self.writes = automation, now, writes
        self.fan_outs = fan_outs if fan_outs is not None else FanOuts()
        self.model = automation._model
        self.cls = type(automation)
        self.visit_node = visit_node  # (node, cursor) -> outcome; raises NodeFailed
        self.on_failure = on_failure  # (task, exception) -> None, once the failed task is written
        self.submission = submission
        self.queue: deque[Cursor] = deque()
        self.waiting: list[tuple[Cursor, Wait]] = []
        self.at_joins: list[Cursor] = []  # paths that arrived at a Join inside a split this step
        self.woken = False  # a message arrived during the step
        self.last_visited: str | None = None
        self.result = StepResult(self.model.pk)

    def start(self, open_tasks: Sequence[AutomationTaskModel]) -> None:
        """Put a cursor on each open task; a new instance starts at its first node."""
        for task in open_tasks:
            cursor = Cursor(task.status, task, split_stack(task.path))
            if at_fan_out_join(cursor):
                cursor.carried = task.result  # the path's result, kept when an earlier step ended
            self.queue.append(cursor)
        if not open_tasks and self.cls._node_names:
            self.continue_at(self.cls._node_names[0], ())
        self.result.held = [cursor.node for cursor in moves.settle(self.cls, self.queue)]

    def run(self, *, limit: int, stop_after_submission: bool) -> StepResult:
        """Move the paths until none can move, the instance ends or stops, or ``limit`` visits."""
        result = self.result
        while not result.error and not result.finished and not result.held:
            if not self.queue:
                if self.at_joins and self.merge_arrived_paths():
                    continue
                break
            if result.visits >= limit:
                break
            if stop_after_submission and self.submission is not None and self.submission.consumed:
                break  # a worker runs: the person's request returns, the worker goes on from here
            result.visits += 1
            self.visit(self.queue.popleft())
        self.conclude()
        return result

    def visit(self, cursor: Cursor) -> None:
        self.last_visited = cursor.node
        declared = self.cls._nodes.get(cursor.node)
        if declared is None:
            path = self.cls.get_automation_class_name()
            self.stop(f"Node '{cursor.node}' does not exist in {path} any more.", cursor)
            self.queue.appendleft(cursor)
            return
        node = getattr(self.automation, cursor.node)
        try:
            outcome = self.visit_node(node, cursor)
        except NodeFailed as failure:
            self.failed(cursor, node, failure.error)
            return
        if isinstance(outcome, Proceed):
            self.finish_task(cursor.task, outcome.message, outcome.result)
            stack = cursor.stack
            if outcome.split:
                self.writes.flush()  # the split's paths name its task's id
                stack = (*stack, frame(cursor.task.pk, getattr(declared, "matching_join", None)))
            for target in outcome.targets:
                self.continue_at(target or declared._successor, stack, carried=outcome.result)
        elif isinstance(outcome, FanOut):
            self.fan_out(cursor, declared, outcome)
        elif isinstance(outcome, Wait):
            self.wait(cursor, outcome)
        elif isinstance(outcome, Finish):
            self.finish_task(cursor.task, outcome.message, None)
            self.result.finished = True
            self.result.finished_at = cursor.node
        elif isinstance(outcome, JoinArrival):
            self.arrive_at_join(cursor, declared)
        else:
            raise TypeError(f"{node!r} returned {outcome!r}, not an outcome.")

    def continue_at(self, node_name: str | None, stack: tuple[str, ...], carried: Any = None) -> None:
        if node_name is None:  # the path ran past the last node: it ends here
            if stack and item_of(stack[-1]) is not None:
                self.item_path_done(stack, None)
            return
        path = "/".join(stack)
        task = new_task_row(self.model, node_name, self.now, path)
        self.queue.append(Cursor(node_name, task, stack, carried))

    def finish_task(self, task: AutomationTaskModel, message: str, result: object) -> None:
        task.finished = self.now
        task.message = message[:MESSAGE_LENGTH]
        task.result = jsonable(result)
        if self.submission is not None and self.submission.task_id == task.pk:
            task.finished_by = self.submission.user
        self.writes.store(task)
        self.writes.finished(task)

    def wait(self, cursor: Cursor, outcome: Wait) -> None:
        task = cursor.task
        changed = outcome.result is not UNCHANGED and outcome.result != task.result
        if changed:
            task.result = jsonable(outcome.result)
        if outcome.deadline != task.deadline:
            task.deadline, changed = outcome.deadline, True
        if task.pk is None or changed:
            self.writes.store(task)
        self.waiting.append((cursor, outcome))

    # -- joins ------------------------------------------------------------------------------------

    def arrive_at_join(self, cursor: Cursor, join: Any) -> None:
        if not cursor.stack:  # not inside a split: nothing to wait for
            self.finish_task(cursor.task, "OK", None)
            self.continue_at(join._successor, ())
            return
        if at_fan_out_join(cursor):  # a fan-out's path is done
            result = jsonable(cursor.carried)
            self.finish_task(cursor.task, "OK", result)
            self.item_path_done(cursor.stack, result)
            return
        self.at_joins.append(cursor)

    # -- fan-outs (ForEach) -----------------------------------------------------------------------

    def fan_out(self, cursor: Cursor, declared: Any, outcome: FanOut) -> None:
        """Start the first paths of a fan-out; with no items, go on after its Join at once."""
        join = getattr(declared, "matching_join", None)
        state = self.fan_outs.state_for(outcome, join)
        self.finish_task(cursor.task, f"{len(outcome.items)} items", state)
        self.writes.flush()  # the paths name the fan-out's task id
        self.fan_outs.begun(cursor.task)
        if not outcome.items:
            if outcome.into:
                self.model.data[outcome.into] = []
            if join is not None:
                self.leave_join(join, cursor.stack)
            return
        for index in range(state["started"]):
            self.continue_at(outcome.target, (*cursor.stack, frame(cursor.task.pk, join, index)))

    def item_path_done(self, stack: tuple[str, ...], result: Any) -> None:
        """A fan-out's path arrived at its Join with ``result`` (or ended): start the next item's
        path, or, after the last one, go on after the Join with the results in the data."""
        done = self.fan_outs.path_done(stack[-1], result)
        self.writes.store(done.task)
        join = frame_join(stack[-1])
        if done.next_index is not None:
            self.continue_at(done.target, (*stack[:-1], frame(done.task.pk, join, done.next_index)))
        elif done.results is not None:
            if done.into:
                self.model.data[done.into] = done.results
            if join is not None:
                self.leave_join(join, stack[:-1])

    def merge_arrived_paths(self) -> bool:
        """Merge the paths at a Join whose sibling paths have all arrived or ended.

        Called when no path can move any more, so that every sibling path has gone as far as it
        can in this step. Inner splits merge first. Return whether paths were merged.
        """
        groups: dict[tuple, list[Cursor]] = {}
        for cursor in self.at_joins:
            groups.setdefault((cursor.node, cursor.stack), []).append(cursor)
        for (node, stack), arrived in sorted(groups.items(), key=lambda item: -len(item[0][1])):
            prefix = "/".join(stack)
            merging = {id(cursor) for cursor in arrived}
            others = [c for c, _ in self.waiting] + [c for c in self.at_joins if id(c) not in merging]
            if any(within(c.stack, prefix) for c in [*others, *self.queue]):
                continue
            self.at_joins = [c for c in self.at_joins if id(c) not in merging]
            for cursor in arrived:
                self.finish_task(cursor.task, "OK", None)
            self.leave_join(node, stack[:-1])
            return True
        return False

    def leave_join(self, node: str, outer: tuple[str, ...]) -> None:
        """Go on after the Join ``node`` as one path again, inside the splits ``outer``."""
        if outer and frame_join(outer[-1]) == node:
            self.continue_at(node, outer)  # the enclosing split's paths meet at this Join too
        else:
            self.continue_at(self.cls._nodes[node]._successor, outer)

    # -- failures and the end of the step ---------------------------------------------------------

    def failed(self, cursor: Cursor, node: Any, exc: BaseException) -> None:
        task = cursor.task
        retry_after = getattr(node, "retry_after", None)  # a node with .Retry() may wait instead
        retry = retry_after(exc, task, self.now) if retry_after is not None else None
        if retry is not None:
            self.wait(cursor, retry)
            return
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = {"error": details, "exception": qualified_name(type(exc)), "traceback": details}
        self.finish_task(task, repr(exc), error)
        self.writes.flush()  # receivers of task_failed see the failed task's row, as every earlier one
        self.on_failure(task, exc)
        on_error = getattr(node, "_on_error", None)
        if on_error is not None:
            self.continue_at(node.target_name(on_error), cursor.stack)
            return
        self.stop(f"{self.cls.__name__}.{cursor.node}: {repr(exc)}"[:2000], cursor)

    def stop(self, message: str, cursor: Cursor) -> None:
        self.result.error = message
        self.result.stopped_at = [cursor.node]

    def conclude(self) -> None:
        """Decide where the instance stands after the walk: finished, stopped, or due again when."""
        result = self.result
        if result.finished:
            result.stopped_at = []
            result.status = Status.FINISHED
            return
        if result.held:  # nothing ran: the instance waits for a deploy or a person to move it
            result.stopped_at = [cursor.node for cursor in self.queue]
            result.status = Status.NEEDS_MIGRATION
            return
        awaited = {waiting.waits_for() for _, waiting in self.waiting}
        for cursor in self.at_joins:  # their sibling paths are still on their way
            self.wait(cursor, Wait(until=None))
        self.at_joins = []
        for cursor in self.queue:
            if cursor.task.pk is None:
                if cursor.carried is not None and at_fan_out_join(cursor):
                    cursor.task.result = jsonable(cursor.carried)  # the next step takes it from here
                self.writes.store(cursor.task)
        if not self.queue and not self.waiting and not result.error:
            result.finished = True
            result.finished_at = self.last_visited
            result.status = Status.FINISHED
            return
        stopped = [c.node for c, _ in self.waiting] + [c.node for c in self.queue]
        if result.error:
            result.stopped_at = list(dict.fromkeys([*result.stopped_at, *stopped]))
            result.status = Status.FAILED
            return
        result.stopped_at = stopped
        moments = [self.now] if self.queue or self.woken else []
        for _, waiting in self.waiting:
            moment = self.now if waiting.handoff else waiting.until
            if moment is not None:
                moments.append(moment)
        wake_at = result.wake_at = min(moments) if moments else None
        result.status = status_of_waiting(awaited, due=wake_at is not None and wake_at <= self.now)

    def left_open(self) -> bool:
        """Whether tasks written earlier stay open although the instance finished (End closes them)."""
        return bool(self.waiting) or any(c.task.pk is not None for c in [*self.queue, *self.at_joins])


def at_fan_out_join(cursor: Cursor) -> bool:
    """Return whether ``cursor`` is a fan-out's path at the Join where the fan-out's paths meet."""
    last = cursor.stack[-1] if cursor.stack else ""
    return "#" in last and frame_join(last) == cursor.node


def status_of_waiting(awaited: set[str], *, due: bool) -> Status:
    """Return the status of an instance whose paths wait for ``awaited``; ``due``: it goes on now.

    An instance due now is running (a path was handed to the worker, or the node limit was
    reached); else a person outranks a message, and a message outranks time.
    """
    if due:
        return Status.RUNNING
    if PERSON in awaited:
        return Status.WAITING_FOR_PERSON
    if MESSAGE in awaited or not awaited:
        return Status.WAITING_FOR_MESSAGE
    return Status.WAITING_FOR_TIME


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def jsonable(value: Any) -> Any:
    """Return ``value`` if it is strict JSON that every database stores, else its ``repr``."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str and "\x00" not in value:
        return value
    if kind is float and math.isfinite(value):
        return value
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    if "\\u0000" in text:  # PostgreSQL's jsonb cannot store NUL characters
        return repr(value)
    return value
