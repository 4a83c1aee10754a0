"""The event inbox: effectful events kept in the database from their arrival until applied once.

A scheduler worker passes every event it receives to :func:`accept` at once, on a database
connection of its own: ``automation.message``, ``broadcast``, ``create`` and ``start`` events are
stored as :class:`~automations.models.InboxEvent` rows (a repeated id is stored once), wake-ups are
passed back, and invalid events come back with the reason. Stored events are then applied by
:func:`apply`, in the transaction that marks the row handled, so that an event is applied once
however often it arrives, whichever worker takes it, and even if a worker dies on the way: a row
that a dead worker stored but never applied is applied by :func:`apply_pending`, which every
worker's sweep and ``manage.py automation_step`` run.

An event whose handling raises is rolled back and retried by later sweeps, ``ATM_EVENT_ATTEMPTS``
times in all; then it is marked failed, with the error. An event that cannot be applied (its instance
does not exist, its data miss required parameters) is marked rejected, with the reason. An event
whose instance's row another transaction holds (a node still running, a worker frozen in a step)
waits for it ``ATM_LOCK_WAIT`` seconds at most and comes back :data:`LOCKED`, left pending without
counting an attempt: the worker tries it again soon.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from automations import engine, events
from automations import settings as atm_settings
from automations.engine import lock_rows
from automations.engine.locking import InstanceLockedError, bounded_lock_wait
from automations.events import resolution, wakeups
from automations.logsafe import shown
from automations.models import InboxEvent

logger = logging.getLogger("automations.inbox")

#: What :func:`apply` returns for an event whose instance's row stayed held: nothing was written.
LOCKED = "locked"


@dataclass
class Intake:
    """What :func:`accept` made of one received event."""

    raw: object = None  # the event as received
    event: events.Event | None = None  # the validated event; None if it was rejected
    error: str | None = None  # why it was rejected
    reply_channel: str | None = None

    @property
    def stored(self) -> bool:
        """Whether the event is now in the inbox (effectful and valid)."""
        return self.event is not None and self.event.type in events.EFFECTFUL_TYPES

    def receipt(self) -> dict:
        """Return the ``automation.receipt`` for the event's ``reply_channel``."""
        if self.event is not None:
            return events.receipt(self.event.id, self.error)
        raw_id = self.raw.get("id") if isinstance(self.raw, dict) else None
        return events.receipt(raw_id if isinstance(raw_id, str) and len(raw_id) <= 100 else None, self.error)


def describe(raw) -> str:
    """Return a one-line, bounded description of a received event for a log line: its type and id."""
    if not isinstance(raw, dict):
        return f"a {type(raw).__name__}"
    return f"type {shown(raw.get('type'), 100)}, id {shown(raw.get('id'), 120)}"


def read(raw) -> Intake:
    """Validate one received event; never raises."""
    reply_channel = None
    if isinstance(raw, dict) and isinstance(raw.get("reply_channel"), str):
        reply_channel = raw["reply_channel"] if len(raw["reply_channel"]) < 100 else None
    try:
        event = events.validate(raw)
    except events.InvalidEventError as exc:
        return Intake(raw=raw, error=str(exc), reply_channel=reply_channel)
    except Exception as exc:  # a validation bug must not silence the worker: the event is refused
        logger.exception("Event (%s) could not be read.", describe(raw))
        error = f"The event could not be read ({type(exc).__name__})."
        return Intake(raw=raw, error=error, reply_channel=reply_channel)
    return Intake(raw=raw, event=event, reply_channel=event.reply_channel)


def accept(raws, *, worker: str = "") -> list[Intake]:
    """Validate received events and store the effectful ones; return one :class:`Intake` each.

    All rows are written in one transaction; an id already in the inbox is not written again.
    ``worker`` names the worker that received them. Raise a database error if the rows could not
    be written (then none was).
    """
    intakes = [read(raw) for raw in raws]
    rows: dict[str, InboxEvent] = {}
    received = timezone.now()  # read at call time, so that a test's frozen clock reaches it
    for intake in intakes:
        event = intake.event
        if event is not None and event.id is not None and intake.stored:  # valid, effectful: has an id
            stored = {key: value for key, value in event.raw.items() if key != "reply_channel"}
            row = InboxEvent(id=event.id, type=event.type, event=stored, worker=worker, received=received)
            rows.setdefault(event.id, row)
    if rows:
        InboxEvent.objects.bulk_create(rows.values(), ignore_conflicts=True)
    return intakes


def apply(event_id: str, event: events.Event | None = None) -> str | None:
    """Apply the stored event ``event_id`` unless it was handled already; return the outcome.

    ``event`` is the event as :func:`accept` validated it, when the worker that stored it applies
    it: it is not validated again. Without it (a sweep applies what another worker stored, perhaps
    before a deploy changed what is valid) the stored event is validated first.

    The outcome is ``InboxEvent.APPLIED``, ``REJECTED``, ``FAILED`` (this handling raised: rolled
    back, and retried later unless it was the last attempt), :data:`LOCKED` (another transaction
    held the instance's row longer than ``ATM_LOCK_WAIT``: rolled back, no attempt counted), or
    ``None`` if the event was handled already, is being handled by another worker, or is not in
    the inbox. A database error that leaves nothing to record raises.
    """
    with wakeups.event_scope(), transaction.atomic():
        row = _lock_pending(event_id)
        if row is None:
            return None
        row.attempts += 1
        try:
            if event is None or event.id != row.pk:
                event = events.validate(row.event)
            with transaction.atomic(), bounded_lock_wait(atm_settings.get("ATM_LOCK_WAIT")):
                perform(event)  # its effects, undone if it fails; the row's outcome stays
        except InstanceLockedError as exc:
            logger.info("Event (%s) waits: %s", describe(row.event), exc)
            return LOCKED  # the row is left as it was: pending, the attempt not counted
        except events.InvalidEventError as exc:
            logger.warning("Event rejected (%s): %s", describe(row.event), exc)
            _conclude(row, InboxEvent.REJECTED, str(exc))
            return InboxEvent.REJECTED
        except Exception as exc:
            if not connection.is_usable() or transaction.get_rollback():
                raise  # the database itself failed: nothing can be recorded; a later sweep retries
            attempts = atm_settings.get("ATM_EVENT_ATTEMPTS")
            last = row.attempts >= attempts
            logger.error("Event (%s) could not be handled (attempt %d of %d)%s.", describe(row.event),
                         row.attempts, attempts, "; given up" if last else "; it is retried later",
                         exc_info=exc)  # fmt: skip
            row.error = "".join(traceback.format_exception(exc))[-atm_settings.get("ATM_EVENT_ERROR_LENGTH"):]
            if last:
                _conclude(row, InboxEvent.FAILED, row.error)
            else:
                row.save(update_fields=["attempts", "error"])
            return InboxEvent.FAILED
        _conclude(row, InboxEvent.APPLIED, "")
        return InboxEvent.APPLIED


def _lock_pending(event_id):
    pending = InboxEvent.objects.filter(pk=event_id, handled__isnull=True)
    return lock_rows(pending, skip_locked=True).first()


def _conclude(row, outcome, error):
    row.handled, row.outcome, row.error = timezone.now(), outcome, error
    row.save(update_fields=["handled", "outcome", "error", "attempts"])


def perform(event: events.Event):
    """Do what the effectful ``event`` asks, through the automation's own API; return its result."""
    automation_class, model, data = resolution.resolve(event)
    if event.type == events.MESSAGE:
        instance = automation_class(automation=model)
        return instance.send_message(event.message, event.token, data)
    if event.type == events.BROADCAST:
        return automation_class.broadcast_message(event.message, event.token, data)
    if event.type == events.CREATE:
        return automation_class.create_on_message(event.message, event.token, data)
    return automation_class(**data)


def handle(event: events.Event):
    """Store and apply ``event`` here and now, or advance the instance of a wake-up; return the outcome.

    What a worker does with one event outside its listener (``Scheduler.dispatch()``).
    """
    if event.type in events.WAKE_TYPES:
        wakes = event.data if event.type == events.WAKES else ((event.automation, event.at),)
        with wakeups.event_scope():
            for automation_id, at in wakes:
                engine.advance(automation_id, skip_locked=True, due_only=at is not None)
        return InboxEvent.APPLIED
    if event.id is None:
        raise events.InvalidEventError(f"An {event.type} event needs an id.")
    accept([event.raw])
    return apply(event.id)


def pending_ids(*, limit: int = 100, live_workers=None, now=None) -> list[str]:
    """Return the ids of stored events nobody is applying, oldest first.

    Those are the events stored without a worker (by ``automation_step``), by a worker that is not
    in ``live_workers`` (the names of the workers known alive; ``None``: every stored event), or
    longer ago than ``ATM_EVENT_PENDING_GRACE`` seconds (a live worker that fell behind, an event
    to retry).
    """
    pending = InboxEvent.objects.filter(handled__isnull=True)
    if live_workers is not None:
        stored_before = (now or timezone.now()) - atm_settings.seconds("ATM_EVENT_PENDING_GRACE")
        pending = pending.filter(Q(received__lt=stored_before) | ~Q(worker__in=list(live_workers)))
    return list(pending.order_by("received", "pk").values_list("pk", flat=True)[:limit])


def apply_pending(
    *, limit: int = 1000, live_workers=None, tried: set | None = None, locked: list | None = None
) -> dict:
    """Apply up to ``limit`` stored events nobody is applying (see :func:`pending_ids`).

    Return counts by outcome (:data:`LOCKED` too). ``tried`` collects the ids tried; those in it are
    not tried again (so that a sweep going a batch at a time tries a failing event once).
    ``locked`` collects the ids of the events that came back :data:`LOCKED`.
    """
    counts = {InboxEvent.APPLIED: 0, InboxEvent.REJECTED: 0, InboxEvent.FAILED: 0, LOCKED: 0}
    tried = set() if tried is None else tried
    limit += len(tried)
    while len(tried) < limit:
        ids = [pk for pk in pending_ids(limit=min(100, limit), live_workers=live_workers) if pk not in tried]
        if not ids:
            break
        for event_id in ids:
            tried.add(event_id)
            outcome = apply(event_id)
            if outcome is not None:
                counts[outcome] += 1
            if outcome == LOCKED and locked is not None:
                locked.append(event_id)
    return counts


def forget_handled(older_than: timedelta | None = None) -> int:
    """Delete the events handled longer ago than ``older_than`` (default ``ATM_HANDLED_EVENTS_KEPT``
    seconds); return how many."""
    if older_than is None:
        older_than = atm_settings.seconds("ATM_HANDLED_EVENTS_KEPT")
    return InboxEvent.objects.filter(handled__lt=timezone.now() - older_than).delete()[0]
