"""Flow control: admitting paths to nodes with ``.Concurrency()`` and ``.RateLimit()``, in order.

Each limit of a node has a queue per *scope* (the class, the node, the limit, and the value of
its ``key`` in the instance's data). A path that reaches the node takes a
:class:`~automations.models.FlowTicket` in each of its scopes (:func:`take_tickets`, in the step)
and waits. Once the step has committed, :func:`after_step` admits the tickets at the head of each
queue that the limit has room for, in a short transaction of its own with the scope's
:class:`~automations.models.FlowGate` row locked (``select_for_update``): so workers on any
number of machines admit one at a time, and a limit holds across all of them, while no step ever
holds a gate. Admitted instances are woken; their next step enters the node.

A ticket is released when its path leaves the node (its task row finished) or its instance stops;
the queue then admits the next. A released ticket still counts for a rate limit until it is older
than ``per``. A waiting path looks again after ``ATM_CONDITION_RECHECK_INTERVAL`` (or when a rate
limit has room again), in case a wake-up was lost.

A class's ``Meta.concurrency`` is a limit on the "node" ``INSTANCE``, before the first node: a new
instance takes its ticket in its first step (:func:`take_place`) and walks no node until admitted;
the ticket is released when the instance stops (:func:`after_step`, or :func:`instance_stopped`
for an instance cancelled outside a step); an instance deleted before it stopped takes its tickets
with it, and its queues admit the next once the deletion has committed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.signals import pre_delete
from django.utils import timezone

from automations import registry
from automations import settings as atm_settings
from automations.events import wakeups
from automations.models import AutomationModel, AutomationTaskModel, FlowGate, FlowTicket, Status
from automations.outcomes import TIME, Wait

from .hooks import StepReport

INSTANCE = "_instance"  # the "node" of a class's limit, before the first (no node name starts with "_")
SCOPE_LENGTH = 400  # FlowGate.scope and FlowTicket.scope hold this many characters
_LEAST_WAIT = timedelta(milliseconds=1)  # a queued path is never due in the step that queued it


def take_tickets(automation: Any, node: str, limits: tuple[Any, ...], now: datetime) -> Wait | None:
    """Return ``None`` if the instance's path at ``node`` is admitted under all ``limits``, else wait.

    Takes the path's tickets in the queues it is not in yet.
    """
    model = automation._model
    waiting: list[datetime] = []
    for limit in limits:
        scope = scope_of(automation, node, limit)
        ticket = FlowTicket.objects.filter(
            scope=scope, automation_id=model.pk, node=node, released=None
        ).first()
        if ticket is None:
            ticket = FlowTicket.objects.create(scope=scope, automation_id=model.pk, node=node, arrived=now)
        if ticket.admitted is None:
            waiting.append(_look_again(scope, limit, now))
    if not waiting:
        return None
    return Wait(until=max(min(waiting), now + _LEAST_WAIT), awaits=TIME)


def take_place(automation: Any, now: datetime) -> Wait | None:
    """Return ``None`` if the new ``automation`` may walk its first node under its class's limit, else wait.

    Called in the steps of an instance that has no task yet; the first takes its ticket, in the
    queue of the value of the limit's key then (a receiver changing it later moves nothing).
    """
    limit = type(automation)._instance_limit
    if limit is None:
        return None
    place = FlowTicket.objects.filter(automation_id=automation.id, node=INSTANCE, released=None).first()
    if place is None:
        return take_tickets(automation, INSTANCE, (limit,), now)
    if place.admitted is not None:
        return None
    return Wait(until=max(_look_again(place.scope, limit, now), now + _LEAST_WAIT), awaits=TIME)


def scope_of(automation: Any, node: str, limit: Any) -> str:
    """Return the name of the queue of ``automation``'s path at ``node`` for ``limit``."""
    scope = limit.scope(f"{type(automation).get_automation_class_name()}.{node}", automation._model.data)
    if len(scope) <= SCOPE_LENGTH:
        return scope
    digest = hashlib.sha256(scope.encode()).hexdigest()
    return f"{scope[: SCOPE_LENGTH - 65]}#{digest}"


def _look_again(scope: str, limit: Any, now: datetime) -> datetime:
    """Return when a waiting path looks again: the recheck interval, or sooner for a rate limit."""
    moment = now + atm_settings.condition_recheck_interval()
    if limit.per is not None:
        oldest = (
            FlowTicket.objects.filter(scope=scope, admitted__gt=now - limit.per)
            .order_by("admitted")
            .values_list("admitted", flat=True)
            .first()
        )
        if oldest is not None:
            moment = min(moment, oldest + limit.per)
    return moment


# -- after a step: releasing and admitting -------------------------------------------------------


def after_step(report: StepReport) -> None:
    """Release the tickets of the limited nodes the committed step left, and admit who is next.

    A hook (:mod:`.hooks`) registered by the app config.
    """
    cls = type(report.automation)
    limited = _limited(cls)
    if not limited:
        return
    left = {task.status for task in report.closed if task.status in limited}
    if report.result.status in Status.stopped():
        left = set(limited)
    _release_and_admit(cls, report.automation.id, left, limited)


def instance_stopped(cls: type, automation_id: int) -> None:
    """Release the tickets of the instance of ``cls`` stopped outside a step (cancelled); admit who is next.

    Call it once the transaction that stopped the instance has committed.
    """
    limited = _limited(cls)
    if limited:
        _release_and_admit(cls, automation_id, set(limited), limited)


def _limited(cls: Any) -> dict[str, tuple[Any, ...]]:
    """Return ``{node: limits}`` of the limited nodes of ``cls``, with ``INSTANCE`` for its class limit."""
    limited = {name: node.limits for name, node in cls._nodes.items() if getattr(node, "limits", ())}
    if getattr(cls, "_instance_limit", None) is not None:
        limited[INSTANCE] = (cls._instance_limit,)
    return limited


def _release_and_admit(
    cls: Any, automation_id: int, left: set[str], limited: dict[str, tuple[Any, ...]]
) -> None:
    tickets = FlowTicket.objects.filter(automation_id=automation_id, released=None)
    queues = set(tickets.values_list("scope", "node"))
    if left:
        tickets.filter(node__in=left).update(released=timezone.now())
    _admit_queues(cls, queues, limited)


def _admit_queues(cls: Any, queues: set[tuple[str, str]], limited: dict[str, tuple[Any, ...]]) -> None:
    for scope, node in sorted(queues):
        limit = _limit_of(scope, node, limited.get(node, ()), cls)
        if limit is not None:
            admit_next(scope, limit)


def _instance_deleting(sender: type, instance: AutomationModel, using: str, **kwargs: Any) -> None:
    # An instance deleted before it stopped (kill(), the admin) takes its tickets with it: once the
    # deletion has committed, the queues it stood in admit who is next.
    if instance.status in Status.stopped():
        return
    try:
        cls = registry.get(instance.automation_class)
    except registry.UnknownAutomationError:
        return
    limited = _limited(cls)
    if not limited:
        return
    tickets = FlowTicket.objects.using(using).filter(automation_id=instance.pk, released=None)
    queues = set(tickets.values_list("scope", "node"))
    if queues:
        transaction.on_commit(lambda: _admit_queues(cls, queues, limited), using=using)


def connect_receivers() -> None:
    """Connect the receiver that lets a deleted instance's queues admit the next (by the app config)."""
    uid = "automations.admission.deleted"
    pre_delete.connect(_instance_deleting, sender=AutomationModel, dispatch_uid=uid)


def _limit_of(scope: str, node: str, limits: tuple[Any, ...], cls: type) -> Any:
    prefix = f"{cls.get_automation_class_name()}.{node}:"  # type: ignore[attr-defined]
    for limit in limits:
        if scope.startswith(prefix + limit.kind):
            return limit
    return None


def admit_next(scope: str, limit: Any) -> list[int]:
    """Admit the first waiting tickets of ``scope`` that ``limit`` has room for; wake their instances.

    One short transaction with the scope's gate locked. Return the ids of the admitted instances.
    """
    now = timezone.now()
    with transaction.atomic():
        FlowGate.objects.get_or_create(scope=scope)
        FlowGate.objects.select_for_update().get(scope=scope)
        tickets = FlowTicket.objects.filter(scope=scope)
        _release_stale(tickets)
        if limit.per is None:  # at most count at once
            room = limit.count - tickets.filter(released=None).exclude(admitted=None).count()
            tickets.exclude(released=None).delete()
        else:  # at most count in any span of per
            tickets.exclude(released=None).filter(admitted__lte=now - limit.per).delete()
            room = limit.count - tickets.filter(admitted__gt=now - limit.per).count()
        if room <= 0:
            return []
        first = tickets.filter(released=None, admitted=None).order_by("pk")[:room]
        admitted = dict(first.values_list("pk", "automation_id"))
        FlowTicket.objects.filter(pk__in=admitted).update(admitted=now)
    for automation_id in admitted.values():
        _wake(automation_id)
    return list(admitted.values())


def _release_stale(tickets: Any) -> None:
    """Release the tickets whose instance stopped, or whose path left the node unreleased.

    A path leaves without being released if its process died between the step's commit and the
    hook. Tickets are released here only outside steps, so every ticket's task row is written. A
    class's ticket (``INSTANCE``) has no task row: it is released only when its instance stopped.
    """
    open_task = AutomationTaskModel.objects.filter(
        automation_id=OuterRef("automation_id"), status=OuterRef("node"), finished=None
    )
    tickets.filter(released=None).filter(
        ~Q(automation__status__in=Status.alive()) | (~Q(node=INSTANCE) & ~Exists(open_task))
    ).update(released=timezone.now())


def _wake(automation_id: int) -> None:
    wakeups.mark_due(automation_id)
    if wakeups.worker_available():
        wakeups.wake_any_worker(automation_id)
    else:
        _advance_in_place(automation_id)


_advance_in_place: Any = None  # engine.advance, set by the engine package (it imports this module)


def use_advance(advance: Any) -> None:
    """Make admitted instances advance in place when no worker runs (called by :mod:`automations.engine`)."""
    global _advance_in_place
    _advance_in_place = advance
