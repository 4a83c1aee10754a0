"""Moving the paths of instances from one node to another: by a migration, or by a person.

A moved path keeps its open task: the row's node name changes, its id (the link in a sent e-mail),
its start and its assignment stay, and a wait at the new node counts from when the path arrived.
Each instance moved gets an audit entry ("move": from, to, by whom or by which migration) and is
made due, so that its next step goes on from the new node, in the transaction that moves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from automations import lifecycle
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel, Status


@dataclass
class Move:
    """An instance whose paths move: ``{task id: (from node, to node)}``."""

    automation_id: int
    tasks: dict[int, tuple[str, str]] = field(default_factory=dict)

    def describe(self) -> str:
        moves = ", ".join(f"{old} -> {new}" for old, new in self.tasks.values())
        return f"#{self.automation_id}: {moves}"


def planned(
    automation_class: str, nodes: dict[str, str], using: str = "default", automation_id: int | None = None
) -> list[Move]:
    """Return the moves of the alive instances of ``automation_class`` with a path on a key of ``nodes``."""
    rows = (
        AutomationTaskModel.objects.using(using)
        .filter(
            finished=None,
            status__in=list(nodes),
            automation__automation_class=automation_class,
            automation__status__in=Status.alive(),
        )
        .filter(**({"automation_id": automation_id} if automation_id is not None else {}))
        .order_by("automation_id", "pk")
        .values_list("automation_id", "pk", "status")
    )
    moves: dict[int, Move] = {}
    for automation_id, task_id, node in rows:
        moves.setdefault(automation_id, Move(automation_id)).tasks[task_id] = (node, nodes[node])
    return list(moves.values())


def move(
    moves: list[Move], *, user: Any = None, by: str = "", reason: str = "", using: str = "default"
) -> int:
    """Carry out ``moves``, one transaction per instance; return how many instances moved.

    ``user`` (a person) or ``by`` (e.g. the migration's name) is written in the audit entries. An
    instance that stopped meanwhile, or whose task moved on, is left as it is.
    """
    moved = 0
    for planned_move in moves:
        with transaction.atomic(using=using):
            row = (
                AutomationModel.objects.using(using).select_for_update()
                .filter(pk=planned_move.automation_id, status__in=Status.alive()).first()
            )  # fmt: skip
            if row is None:
                continue
            now = timezone.now()
            done = {}
            for task_id, (old, new) in planned_move.tasks.items():
                tasks = AutomationTaskModel.objects.using(using).filter(pk=task_id, status=old, finished=None)
                if tasks.update(status=new):
                    done[task_id] = (old, new)
            if not done:
                continue
            for old, new in dict.fromkeys(done.values()):
                AuditEntry.objects.using(using).create(
                    automation=row, created=now, user=user if getattr(user, "pk", None) else None,
                    username=(user.get_username() if user is not None else by)[:150],
                    action=AuditEntry.MOVE, reason=reason, details={"from": old, "to": new},
                )  # fmt: skip
            lifecycle.make_due_after_deploy([row.pk], now)
            moved += 1
    return moved
