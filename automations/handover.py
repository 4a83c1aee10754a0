"""Handing open form tasks around: claim, unassign, reassign, snooze; and delegation while away.

Every screen calls these functions (the inbox and the task page, the admin, the console's bulk
actions, the JSON API); each takes the acting user, checks that they may act, and raises
:class:`HandoverForbidden` (a ``PermissionDenied``) if they may not, or :class:`HandoverError` if
the action does not apply to the task as it stands now. Nothing changes then. The rules:

- :func:`claim`: a user who may process a task in a queue (a group's, a permission's, anybody's)
  takes it: it is assigned to them personally (``interaction_user``), leaves the others' queues,
  and only they (their substitute, a superuser) may submit it.
- :func:`unassign`: a claimed task goes back to the queue. A task whose form names its user
  (``.User(...)``) has no queue to go back to: reassign it instead.
- :func:`reassign`: hand a task to a user (who must be allowed to process it: in its group, with
  its permissions) or to a group (not for a form that names its user).
- :func:`snooze`: put a task aside until a time: it leaves the inbox and is listed under
  "snoozed" until then, when it comes back by itself. Snoozing a queued task claims it.
  ``snooze(user, task, None)`` brings it back at once.

Claim and snooze are for those who may process the task now. Unassign, reassign and snooze of
somebody else's task are for the user who holds the task, for holders of the permission
``automations.reassign_task`` and for staff. Each action locks the task's instance (so that a
submission and a hand-over happening at once come one after the other), writes an
:class:`~automations.models.AuditEntry` in its transaction, and refreshes every open inbox
concerned once it commits.

:func:`delegate` makes a :class:`~automations.models.Delegation`: a substitute acts for a user
who is away for a period (see :mod:`automations.delegation`); the user themselves, holders of
``automations.add_delegation`` and staff may set one up. :func:`delegate` and
:func:`end_delegation` write an audit entry too, about no instance (``delegate``,
``end_delegation``: who, for whom, which substitute, the period).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from automations import notifications
from automations.diagram import live as watchers
from automations.engine.locking import lock_instance
from automations.exceptions import AutomationsError
from automations.instance_actions import audit
from automations.models import AuditEntry, AutomationTaskModel, Delegation
from automations.permissions import form_node_for, group_model, may_process, may_process_self
from automations.tasklist import live

REASSIGN_PERMISSION = "automations.reassign_task"
DELEGATE_PERMISSION = "automations.add_delegation"

__all__ = [
    "DELEGATE_PERMISSION",
    "REASSIGN_PERMISSION",
    "HandoverError",
    "HandoverForbidden",
    "claim",
    "delegate",
    "check_delegation",
    "end_delegation",
    "holder",
    "is_claimed",
    "is_snoozed",
    "may_manage",
    "reassign",
    "snooze",
    "unassign",
]


class HandoverError(AutomationsError):
    """The hand-over does not apply to the task (or delegation) as it stands now; the message says why."""


class HandoverForbidden(HandoverError, PermissionDenied):
    """The acting user may not do this; the message says why. Django answers it with a 403."""


# -- reading a task ----------------------------------------------------------------------------


def holder(task):
    """Return the id of the user ``task`` is assigned to personally, or ``None`` if it is queued."""
    return task.interaction_user_id


def is_claimed(task) -> bool:
    """Return whether ``task`` was taken from a queue (its form does not name its user)."""
    node = form_node_for(task)
    return task.interaction_user_id is not None and node is not None and node._user is None


def is_snoozed(task, now: datetime | None = None) -> bool:
    """Return whether ``task`` is put aside now (snoozed until a time still to come)."""
    return task.snoozed_until is not None and task.snoozed_until > (now or timezone.now())


def may_manage(user, task) -> bool:
    """Return whether ``user`` may unassign, reassign or snooze ``task`` for whoever holds it.

    That is its holder, a holder of ``automations.reassign_task`` or a staff member.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_staff or user.has_perm(REASSIGN_PERMISSION):
        return True
    return task.interaction_user_id is not None and may_process(user, task)


# -- acting ------------------------------------------------------------------------------------


def claim(user, task) -> AutomationTaskModel:
    """Take the queued ``task`` for ``user``: assign it to them personally; return the task.

    Raise :class:`HandoverForbidden` if ``user`` may not process it, :class:`HandoverError` if it
    is somebody's already.
    """
    with _locked(task) as row:
        if row.interaction_user_id == user.pk:
            raise HandoverError(_("This task is yours already."))
        if row.interaction_user_id is not None:
            raise HandoverError(_("This task is assigned to somebody already: ask them or a manager."))
        if not may_process_self(user, row):
            raise HandoverForbidden(_("You may not process this task, so you cannot claim it."))
        row.interaction_user_id = user.pk
        _save(row, user, AuditEntry.CLAIM, ["interaction_user"])
    return row


def unassign(user, task) -> AutomationTaskModel:
    """Give the claimed ``task`` back to its queue (its snooze ends too); return the task."""
    with _locked(task) as row:
        if row.interaction_user_id is None:
            raise HandoverError(_("This task is in the queue already."))
        if not may_manage(user, row):
            raise HandoverForbidden(_("Only the task's holder or a manager may give it back to the queue."))
        if not is_claimed(row):
            raise HandoverError(_("The form of this task names its user, so it has no queue: reassign it."))
        was = _username(row.interaction_user_id)
        row.interaction_user_id, row.snoozed_until = None, None
        _save(row, user, AuditEntry.UNASSIGN, ["interaction_user", "snoozed_until"], was=was)
    return row


def reassign(user, task, *, to_user=None, to_group=None) -> AutomationTaskModel:
    """Hand ``task`` to the user ``to_user`` or to the group ``to_group`` (one of them); return it.

    The new user must be allowed to process the task (active, in its group, with its
    permissions); a task handed to a group is queued for its members. Its snooze ends.
    """
    if (to_user is None) == (to_group is None):
        raise HandoverError(_("Hand the task to one user or to one group."))
    with _locked(task) as row:
        if not may_manage(user, row) and not may_process_self(user, row):
            raise HandoverForbidden(_("Only those who may process this task or a manager may hand it on."))
        if to_user is not None:
            target = _user(to_user)
            row.interaction_user_id, row.snoozed_until = target.pk, None
            if not may_process_self(target, row):
                raise HandoverError(
                    _("%(user)s may not process this task (its group or permissions).")
                    % {"user": target.get_username()}
                )
            to = target.get_username()
        else:
            node = form_node_for(row)
            if node is not None and node._user is not None:
                raise HandoverError(_("The form of this task names its user: hand it to a user instead."))
            group = _group(to_group)
            row.interaction_user_id, row.interaction_group_id, row.snoozed_until = None, group.pk, None
            to = str(group)
        fields = ["interaction_user", "interaction_group", "snoozed_until"]
        _save(row, user, AuditEntry.REASSIGN, fields, to=to)
        notifications.task_assigned(row)  # sent once the hand-over commits
    return row


def snooze(user, task, until: datetime | None) -> AutomationTaskModel:
    """Put ``task`` aside until ``until`` (``None``: bring it back now); return the task.

    A queued task is claimed for ``user`` first. ``until`` must lie in the future.
    """
    now = timezone.now()
    if until is not None:
        if not isinstance(until, datetime):
            raise HandoverError(_("Say until when, as a date and time."))
        if timezone.is_naive(until):
            until = timezone.make_aware(until)
        if until <= now:
            raise HandoverError(_("Snooze a task until a time still to come."))
    with _locked(task) as row:
        fields = ["snoozed_until"]
        if row.interaction_user_id is None and until is not None:
            if not may_process_self(user, row):
                raise HandoverForbidden(_("You may not process this task, so you cannot snooze it."))
            row.interaction_user_id = user.pk
            fields.append("interaction_user")
        elif not may_manage(user, row):
            raise HandoverForbidden(_("Only the task's holder or a manager may snooze it."))
        row.snoozed_until = until
        _save(row, user, AuditEntry.SNOOZE, fields, until=until.isoformat() if until else None)
    return row


def delegate(user, substitute, ends: datetime, *, starts: datetime | None = None, by=None) -> Delegation:
    """Let ``substitute`` act for ``user`` from ``starts`` (default now) until ``ends``; return it.

    ``by`` is who sets it up (default ``user``): the user themselves, a holder of
    ``automations.add_delegation`` or staff. A user has one substitute at a time. The audit
    entry ``delegate`` (by ``by``) is written in the same transaction.
    """
    by = by if by is not None else user
    user, substitute = _user(user), _user(substitute)
    starts = starts or timezone.now()
    with transaction.atomic():
        check_delegation(user, substitute, starts, ends, by=by, lock=True)
        made = Delegation.objects.create(
            user=user, substitute=substitute, starts=starts, ends=ends, created_by=by
        )
        audit(None, by, AuditEntry.DELEGATE, **_delegation_details(made))
        transaction.on_commit(lambda: live.notify_users([user.pk, substitute.pk]))
    return made


def check_delegation(user, substitute, starts: datetime, ends: datetime, *, by, lock: bool = False) -> None:
    """Raise :class:`HandoverError` (:class:`HandoverForbidden`) if ``by`` may not make this delegation.

    ``lock`` (inside a transaction) locks the user's row first: two delegations for one user made at
    once are checked one after the other, so the second sees the first and is refused.
    """
    if by.pk != user.pk and not (by.is_staff or by.has_perm(DELEGATE_PERMISSION)):
        raise HandoverForbidden(_("Only the user themselves or a manager may name their substitute."))
    for person in (user, substitute):
        if not person.is_active:
            raise HandoverError(_("There is no active user %(user)s.") % {"user": person.get_username()})
    if user.pk == substitute.pk:
        raise HandoverError(_("Name somebody else as the substitute."))
    if ends <= starts:
        raise HandoverError(_("The delegation must end after it starts."))
    if lock:
        list(get_user_model()._default_manager.select_for_update().filter(pk=user.pk).values_list("pk"))
    if Delegation.objects.filter(user=user, starts__lt=ends, ends__gt=starts).exists():
        raise HandoverError(
            _("%(user)s has a substitute for part of this period already: end that delegation first.")
            % {"user": user.get_username()}
        )


def end_delegation(by, delegation: Delegation) -> Delegation:
    """End ``delegation`` now (or drop it if it has not started); return it.

    The audit entry ``end_delegation`` (by ``by``; ``dropped`` says which) is written in the same
    transaction. A delegation that ended (or was dropped) meanwhile is left as it is, unaudited.
    """
    if by.pk not in (delegation.user_id, delegation.substitute_id) and not (
        by.is_staff or by.has_perm(DELEGATE_PERMISSION)
    ):
        raise HandoverForbidden(_("Only the user, their substitute or a manager may end a delegation."))
    with transaction.atomic():
        # Locked, so that of two people ending it at once the second finds it ended: one audit entry.
        row = Delegation.objects.select_for_update().filter(pk=delegation.pk).first()
        now = timezone.now()  # after the wait for the lock
        if row is None or row.ends <= now:
            return delegation
        details = _delegation_details(row)
        dropped = row.starts >= now
        if dropped:
            delegation.delete()
        else:
            delegation.ends = now
            Delegation.objects.filter(pk=row.pk).update(ends=now)
        audit(None, by, AuditEntry.END_DELEGATION, when=now, dropped=dropped, **details)
        users = [row.user_id, row.substitute_id]
        transaction.on_commit(lambda: live.notify_users(users))
    return delegation


# -- helpers -----------------------------------------------------------------------------------


@contextmanager
def _locked(task):
    """Lock the instance of ``task``; yield the task's row read again, open, inside the transaction."""
    with transaction.atomic():
        if lock_instance(task.automation_id) is None:
            raise HandoverError(_("This task's automation does not exist any more."))
        row = AutomationTaskModel.objects.select_related("automation").filter(pk=task.pk).first()
        if row is None or row.finished is not None or not row.automation.is_active:
            raise HandoverError(_("This task is not open any more."))
        if form_node_for(row) is None:
            raise HandoverError(_("Only a task that waits for a form can be handed over."))
        yield row


def _save(row, user, action: str, fields: list[str], **details) -> None:
    row.save(update_fields=fields)
    audit(row.automation, user, action, node=row.status, task=row.pk, **details)
    automation_id = row.automation_id
    # An assignment change refreshes the inboxes by itself (automations.tasklist.live); a snooze
    # changes no assignment, so the holder's lists are told here.
    transaction.on_commit(lambda: live.notify_task(row))
    transaction.on_commit(lambda: watchers.notify_instance(automation_id))


def _delegation_details(row: Delegation) -> dict:
    """Return what an audit entry of the delegation ``row`` keeps: its users by id and name, its period.

    The period's moments are ISO strings in UTC.
    """
    return {
        "delegation": row.pk,
        "away": row.user_id,
        "away_name": _username(row.user_id),
        "substitute": row.substitute_id,
        "substitute_name": _username(row.substitute_id),
        "starts": row.starts.astimezone(UTC).isoformat(),
        "ends": row.ends.astimezone(UTC).isoformat(),
    }


def _username(user_id) -> str:
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    return user.get_username() if user is not None else "?"


def _user(reference):
    """Return the active user ``reference`` (a user or an id) is; raise :class:`HandoverError` if none."""
    pk = getattr(reference, "pk", reference)
    user = get_user_model()._default_manager.filter(pk=pk, is_active=True).first() if pk is not None else None
    if user is None:
        raise HandoverError(_("There is no active user %(user)s.") % {"user": reference})
    return user


def _group(reference):
    model = group_model()
    pk = getattr(reference, "pk", reference)
    group = model._default_manager.filter(pk=pk).first() if pk is not None else None
    if group is None:
        raise HandoverError(_("There is no group %(group)s.") % {"group": reference})
    return group
