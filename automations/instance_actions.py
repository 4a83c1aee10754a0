"""Acting on an automation instance by hand: wake it now, retry its failed node, cancel it, send a message.

The instance page (``automations:instance_action``), the bulk actions of the instances and errors
pages and the admin's actions all call :func:`perform` (or :func:`perform_many`). Every action
carried out writes an :class:`~automations.models.AuditEntry` (who, when, what, why) in the
transaction that acts; the status changes go through :mod:`automations.lifecycle`.

- ``wake``: advance a running instance now (:meth:`Automation.nice`); waiting conditions are
  checked again, so a node waiting for a time still waits.
- ``retry``: a failed instance goes on from its failed node: the error is cleared and the failed
  node gets a new open task on its path.
- ``cancel``: stop an instance for good, with a reason, keeping its history: its open tasks are
  closed and its status becomes ``cancelled`` (not an error: it is not listed among errors).
  (``Automation.kill()`` deletes an instance with its history; the admin's delete does that.)
- ``message``: call a ``receive_<message>`` method of the instance (:meth:`Automation.send_message`).
- ``move``: an instance held because a path stands on a node its class no longer declares
  (``needs_migration``) goes on from a node that a person chooses (:mod:`automations.versions.moving`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations import jsonlimits, lifecycle, registry, subautomations
from automations.diagram import live as watchers
from automations.engine import admission
from automations.engine.locking import lock_instance
from automations.exceptions import AutomationsError
from automations.models import AuditEntry, AutomationModel, AutomationTaskModel, Status
from automations.receivers import (
    RECEIVER_PREFIX,
    ParameterProblem,
    UnknownMessageError,
    parameter_problem,
    receiver_for,
)
from automations.tasklist import live
from automations.versions import moving

logger = logging.getLogger("automations.actions")

FAILED = Q(result__has_key="traceback") & Q(result__has_key="exception")
REASON_LENGTH = 1000  # characters of a cancellation's reason
BULK_LIMIT = 500  # instances one bulk action acts on


class ActionNotPossible(AutomationsError):
    """The action does not apply to the instance as it stands now; the message says why."""


class InvalidActionInput(ActionNotPossible):
    """What was given to the action (a message's receiver or data) is not acceptable; the message says why."""


class InvalidParameter(InvalidActionInput):
    """A message's data lack a parameter its receiver requires, or give one that does not convert.

    ``parameter`` is the parameter's name, ``receiver`` the receiver's method name.
    """

    def __init__(self, message: str, parameter: str, receiver: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.receiver = receiver


@dataclass(frozen=True)
class Action:
    """One thing a person with the change permission can do to an instance."""

    name: str
    label: str | Promise  # lazy translations, translated when shown
    confirmation: str | Promise
    danger: bool = False


ACTIONS = {
    "wake": Action(
        "wake",
        gettext_lazy("Wake now"),
        gettext_lazy("Advance this instance now? Nodes waiting for a time or a condition check it again."),
    ),
    "retry": Action(
        "retry",
        gettext_lazy("Retry from the failed node"),
        gettext_lazy("Clear the error and run the failed node again?"),
    ),
    "cancel": Action(
        "cancel",
        gettext_lazy("Cancel"),
        gettext_lazy("Stop this instance for good? Its open tasks are closed; its history is kept."),
        danger=True,
    ),
    "move": Action(
        "move",
        gettext_lazy("Move to a node"),
        gettext_lazy(
            "Move the path that stands on a node its class no longer declares to a node it declares? "
            "The instance goes on from there at once; a wait there counts from when the path arrived."
        ),
    ),
    "message": Action(
        "message",
        gettext_lazy("Send a message"),
        gettext_lazy(
            "Send this instance a message? The receiver you choose runs at once with the data you give."
        ),
    ),
}


# -- what applies ------------------------------------------------------------------------------


def failed_task(model):
    """Return the latest failed task of ``model`` (the one that stopped it, if an error did), or ``None``."""
    return AutomationTaskModel.objects.filter(FAILED, automation=model).order_by("-pk").first()


def receivers(automation_class) -> list[str]:
    """Return the messages ``automation_class`` receives: the names after ``receive_``, sorted."""
    return sorted(
        name[len(RECEIVER_PREFIX) :]
        for name in dir(automation_class)
        if name.startswith(RECEIVER_PREFIX) and callable(getattr(automation_class, name, None))
    )


def publishes_receivers(automation_class) -> bool:
    """Return whether ``automation_class`` offers its receivers to people (``publish_receivers = True``)."""
    return getattr(automation_class, "publish_receivers", False) is True


def _automation_class(model):
    try:
        return model.get_automation_class()
    except registry.UnknownAutomationError:
        return None


def available(model) -> list[Action]:
    """Return the actions that apply to ``model`` as it stands now."""
    cls = _automation_class(model)
    if cls is None or model.status in (Status.FINISHED, Status.CANCELLED):
        return []
    names = []
    if model.is_active:
        names.append("wake")
    elif model.status == Status.FAILED and failed_task(model) is not None:
        names.append("retry")
    elif model.status == Status.NEEDS_MIGRATION:
        names.append("move")
    names.append("cancel")
    if model.is_active and receivers(cls):
        names.append("message")
    return [ACTIONS[name] for name in names]


# -- acting ------------------------------------------------------------------------------------


def audit(model, user, action: str, reason: str = "", when=None, **details) -> AuditEntry:
    """Write the :class:`~automations.models.AuditEntry` of ``user``'s ``action`` on ``model``.

    ``model`` is ``None`` for an action on no instance (a delegation).
    """
    return AuditEntry.objects.create(
        automation=model,
        created=when or timezone.now(),
        user=user if getattr(user, "pk", None) else None,
        username=getattr(user, "get_username", lambda: "")(),
        action=action,
        reason=reason,
        details=details,
    )


def perform(model, action: str, user, **params) -> str:
    """Carry out ``action`` on the instance ``model`` for ``user``; return what happened, for a person.

    Permissions are the caller's to check. The instance's row is locked first and the action
    checked again under the lock, so that of two people acting at once the second sees what the
    first did: a cancelled instance is never retried, an instance cancelled twice has one audit
    entry.
    Raise :class:`ActionNotPossible` if the action does not apply now (nothing is changed then).
    """
    if action not in ACTIONS:
        raise ActionNotPossible(_("Unknown action."))
    with transaction.atomic():
        row = lock_instance(model.pk)
        if row is None:
            raise ActionNotPossible(_("This instance does not exist any more."))
        if ACTIONS[action] not in available(row):
            raise ActionNotPossible(
                _("“%(action)s” does not apply to this instance now.") % {"action": ACTIONS[action].label}
            )
        actions = {"wake": wake, "retry": retry, "cancel": cancel, "message": send_message, "move": move}
        done = actions[action](
            row, user, **params
        )
        transaction.on_commit(lambda: watchers.notify_instance(row.pk))  # the audit entry at least
    if action in ("wake", "retry", "move"):
        row.refresh_from_db()
        row.instance.nice()
    return done


def perform_many(models, action: str, user, **params) -> tuple[list[str], list[tuple[int, str]]]:
    """Carry out ``action`` on each of ``models``, each in its own transaction, for ``user``.

    Return ``(what happened, one sentence each; [(id, why not)] for those it did not apply to)``;
    one that does not apply leaves the others untouched.
    """
    done: list[str] = []
    refused: list[tuple[int, str]] = []
    for model in models:
        try:
            done.append(perform(model, action, user, **params))
        except ActionNotPossible as exc:
            refused.append((model.pk, str(exc)))
    return done, refused


def wake(row, user) -> str:
    """Record that ``user`` wakes the running instance ``row`` (locked); :func:`perform` wakes it."""
    audit(row, user, AuditEntry.WAKE)
    return _("Instance #%(pk)s was woken.") % {"pk": row.pk}


def retry(row, user) -> str:
    """Give the failed node of ``row`` (locked, stopped by an error) a new open task; clear the error.

    :func:`perform` wakes the instance once this is committed.
    """
    cls = row.get_automation_class()
    failed = failed_task(row)
    if row.status != Status.FAILED or failed is None:
        raise ActionNotPossible(_("Only an instance stopped by an error can be retried."))
    if getattr(cls._nodes.get(failed.status), "_on_error", None) is not None:
        raise ActionNotPossible(
            _("The failed node had an OnError path; the error did not stop the instance.")
        )
    if failed.status not in cls._nodes:
        raise ActionNotPossible(
            _("The failed node %(node)s is not declared any more.") % {"node": failed.status}
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            lifecycle.resume(row.pk, now)
    except IntegrityError as exc:
        raise ActionNotPossible(_("Another running instance has the same unique key.")) from exc
    audit(row, user, AuditEntry.RETRY, when=now, node=failed.status)
    AutomationTaskModel.objects.create(automation=row, status=failed.status, created=now, path=failed.path)
    return _("Instance #%(pk)s goes on from %(node)s.") % {"pk": row.pk, "node": failed.status}


def cancel(row, user, reason: str = "", *, by_parent: bool = False) -> str:
    """Stop the locked instance ``row`` for good, for ``reason``: close its open tasks, keep its history.

    Its status becomes ``cancelled``; no error is recorded. Its children (instances its
    ``SubAutomation`` nodes started) that have not stopped are cancelled too, each with an audit
    entry; a parent that waits for it is woken (its node fails: the child was cancelled), unless
    the parent is being cancelled (``by_parent``). Its places under flow-control limits (a class's
    ``Meta.concurrency``, a node's ``.Concurrency()``) go to those waiting once the cancellation
    commits. Raise :class:`InvalidActionInput` without a reason.
    """
    reason = " ".join(str(reason or "").split())[:REASON_LENGTH]
    if not reason:
        raise InvalidActionInput(_("Say why this instance is cancelled."))
    if row.status in Status.stopped() and row.status != Status.FAILED:
        raise ActionNotPossible(_("A finished or cancelled instance cannot be cancelled."))
    now = timezone.now()
    open_tasks = list(
        AutomationTaskModel.objects.filter(automation=row, finished=None).select_related("automation")
    )
    AutomationTaskModel.objects.filter(pk__in=[task.pk for task in open_tasks]).update(
        finished=now, message="cancelled"
    )
    lifecycle.cancel(row.pk, now)
    audit(row, user, AuditEntry.CANCEL, reason, when=now)
    transaction.on_commit(lambda: _notify_tasks(open_tasks))
    cls = _automation_class(row)
    if cls is not None:  # its places under flow-control limits go to those waiting
        transaction.on_commit(lambda: admission.instance_stopped(cls, row.pk))
    _cancel_children(row, user, reason)
    if not by_parent:
        subautomations.wake_parent(row, Status.CANCELLED, now)
    return _("Instance #%(pk)s was cancelled.") % {"pk": row.pk}


def _cancel_children(row, user, reason: str) -> None:
    """Cancel the children of the cancelled ``row`` that have not stopped, and theirs."""
    alive = AutomationModel.objects.filter(parent_id=row.pk, status__in=Status.alive())
    for child_id in alive.order_by("pk").values_list("pk", flat=True):
        child = lock_instance(child_id)
        if child is not None and child.status in Status.alive():
            why = _("Its parent #%(pk)s was cancelled: %(reason)s") % {"pk": row.pk, "reason": reason}
            cancel(child, user, why, by_parent=True)


def unknown_nodes(model) -> list[str]:
    """Return the nodes the open tasks of ``model`` stand on that its class neither declares nor renames."""
    cls = _automation_class(model)
    open_tasks = AutomationTaskModel.objects.filter(automation=model, finished=None)
    nodes = open_tasks.values_list("status", flat=True)
    known = set(cls._nodes) | set(cls._renamed_nodes) if cls is not None else set()
    return sorted(set(nodes) - known)


def target_nodes(model) -> list[str]:
    """Return the nodes a held instance's path may be moved to: its class's nodes, obsolete ones left out."""
    cls = _automation_class(model)
    if cls is None:
        return []
    return [name for name, node in cls._nodes.items() if type(node).__name__ != "Obsolete"]


def move(row, user, from_node: str = "", to_node: str = "", reason: str = "") -> str:
    """Move the held ``row``'s paths on ``from_node`` (not declared) to ``to_node``, for ``reason``."""
    reason = " ".join(str(reason or "").split())[:REASON_LENGTH]
    if not reason:
        raise InvalidActionInput(_("Say why this instance is moved."))
    if from_node not in unknown_nodes(row) or to_node not in target_nodes(row):
        raise InvalidActionInput(
            _("Choose a node the instance stands on and a node its class declares.")
        )
    plan = moving.planned(row.automation_class, {from_node: to_node}, automation_id=row.pk)
    moving.move(plan, user=user, reason=reason)
    return _("Instance #%(pk)s goes on from %(node)s.") % {"pk": row.pk, "node": to_node}


def _notify_tasks(tasks) -> None:
    for task in tasks:
        live.notify_task(task)


def parse_data(text: str):
    """Return the JSON object ``text`` (empty: ``{}``); raise :class:`ActionNotPossible` if it is not one.

    The data obey the rules of channel events (:mod:`automations.jsonlimits`): at most 64 levels
    deep, at most ``ATM_MAX_EVENT_SIZE`` bytes, nothing a database cannot store.
    """
    if not text.strip():
        return {}
    try:
        data = jsonlimits.loads(text)
    except jsonlimits.UnfitJSONError as exc:
        raise InvalidActionInput(_("The data %(error)s.") % {"error": exc}) from exc
    if not isinstance(data, dict):
        raise InvalidActionInput(_('The data must be a JSON object, like {"plan": "team"}.'))
    return data


def send_message(row, user, message: str = "", token: str = "", data=None) -> str:
    """Call the receiver of ``message`` of the running, locked instance ``row`` with ``token``, ``data``."""
    cls = row.get_automation_class()
    if message not in receivers(cls):
        raise InvalidActionInput(
            _("This automation has no receiver for “%(message)s”.") % {"message": message}
        )
    data = parse_data(data) if isinstance(data, str) else _checked_data(data or {})
    try:
        receiver = receiver_for(cls, message)
    except UnknownMessageError as exc:
        raise InvalidActionInput(str(exc)) from exc
    problem = parameter_problem(receiver, data)
    if problem is not None:
        raise _invalid_parameter(problem, RECEIVER_PREFIX + message)
    audit(row, user, AuditEntry.MESSAGE, message=message, token=token, data=data)
    row.instance.send_message(message, token or None, data)
    return _("Message “%(message)s” sent to instance #%(pk)s.") % {"message": message, "pk": row.pk}


def _invalid_parameter(problem: ParameterProblem, receiver: str) -> InvalidParameter:
    values = {"parameter": problem.name, "receiver": receiver, "type": problem.kind.__name__}
    if problem.missing:
        text = _("The data lacks the parameter “%(parameter)s” that %(receiver)s requires.") % values
    else:
        values["value"] = Truncator(str(problem.value)).chars(60)
        text = (
            _(
                "The parameter “%(parameter)s” that %(receiver)s requires must convert to %(type)s; "
                "“%(value)s” does not."
            )
            % values
        )
    return InvalidParameter(text, problem.name, receiver)


def _checked_data(data):
    try:
        jsonlimits.check(data)
    except jsonlimits.UnfitJSONError as exc:
        raise InvalidActionInput(_("The data %(error)s.") % {"error": exc}) from exc
    if not isinstance(data, dict):
        raise InvalidActionInput(_('The data must be a JSON object, like {"plan": "team"}.'))
    return data
