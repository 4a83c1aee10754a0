"""Acting on an automation instance by hand: wake it now, retry its failed node, kill it, send a message.

The instance page (``automations:instance_action``) and the admin's actions both call
:func:`perform`. Every action that was carried out writes an *audit line* into the instance's
history: a finished task row without a node (``status`` empty) whose ``result`` is
``{"audit": "<action>", ...}``, ``finished_by`` the user who acted, and ``message`` what happened.
The engine only looks at open task rows, so audit lines never change where an instance stands.

- ``wake``: advance a running instance now (:meth:`Automation.nice`); waiting conditions are
  checked again, so a node waiting for a time still waits.
- ``retry``: an instance an error stopped goes on from its failed node: the error is cleared and
  the failed node gets a new open task on its path.
- ``kill``: stop an instance for good, keeping its history: its open tasks are closed and the
  instance is marked stopped. (``Automation.kill()`` deletes an instance with its history; the
  admin's delete does that.)
- ``message``: call a ``receive_<message>`` method of the instance (:meth:`Automation.send_message`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations import jsonlimits, registry
from automations.engine.locking import lock_instance
from automations.exceptions import AutomationsError
from automations.models import AutomationModel, AutomationTaskModel
from automations.receivers import RECEIVER_PREFIX, UnknownMessageError, coerce_data, receiver_for
from automations.tasklist import live

logger = logging.getLogger("automations.actions")

AUDIT = "audit"
FAILED = Q(result__has_key="traceback") & Q(result__has_key="exception")
MESSAGE_LENGTH = AutomationTaskModel._meta.get_field("message").max_length


class ActionNotPossible(AutomationsError):
    """The action does not apply to the instance as it stands now; the message says why."""


class InvalidActionInput(ActionNotPossible):
    """What was given to the action (a message's receiver or data) is not acceptable; the message says why."""


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
    "kill": Action(
        "kill",
        gettext_lazy("Kill"),
        gettext_lazy("Stop this instance for good? Its open tasks are closed; its history is kept."),
        danger=True,
    ),
    "message": Action(
        "message",
        gettext_lazy("Send a message"),
        gettext_lazy("Call one of this instance's receivers with the token and data below?"),
    ),
}


# -- what applies ------------------------------------------------------------------------------


def is_running(model) -> bool:
    return not model.finished and not model.error


def was_killed(model) -> bool:
    """Return whether somebody killed ``model`` with the ``kill`` action."""
    return AutomationTaskModel.objects.filter(automation=model, status="", result__audit="kill").exists()


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


def _automation_class(model):
    try:
        return model.get_automation_class()
    except registry.UnknownAutomationError:
        return None


def available(model) -> list[Action]:
    """Return the actions that apply to ``model`` as it stands now."""
    cls = _automation_class(model)
    if cls is None or model.finished:
        return []
    names = []
    if is_running(model):
        names.append("wake")
    elif failed_task(model) is not None and not was_killed(model):
        names.append("retry")
    if not was_killed(model):
        names.append("kill")
    if is_running(model) and receivers(cls):
        names.append("message")
    return [ACTIONS[name] for name in names]


# -- acting ------------------------------------------------------------------------------------


def audit(model, user, action: str, text: str, **details):
    """Write an audit line into ``model``'s history and return it."""
    now = timezone.now()
    return AutomationTaskModel.objects.create(
        automation=model,
        status="",
        created=now,
        finished=now,
        message=text[:MESSAGE_LENGTH],
        result={AUDIT: action, "user": getattr(user, "get_username", lambda: "")(), **details},
        finished_by=user if getattr(user, "pk", None) else None,
    )


def perform(model, action: str, user, **params) -> str:
    """Carry out ``action`` on the instance ``model`` for ``user``; return what happened, for a person.

    Permissions are the caller's to check. The instance's row is locked first and the action
    checked again under the lock, so that of two people acting at once the second sees what the
    first did: a killed instance is never retried, an instance killed twice has one audit line.
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
        done = {"wake": wake, "retry": retry, "kill": kill, "message": send_message}[action](
            row, user, **params
        )
    if action in ("wake", "retry"):
        row.refresh_from_db()
        row.instance.nice()
    return done


def wake(row, user) -> str:
    """Record that ``user`` wakes the running instance ``row`` (locked); :func:`perform` wakes it."""
    audit(row, user, "wake", f"Woken by {user.get_username()}.")
    return _("Instance #%(pk)s was woken.") % {"pk": row.pk}


def retry(row, user) -> str:
    """Give the failed node of ``row`` (locked, stopped by an error) a new open task; clear the error.

    :func:`perform` wakes the instance once this is committed.
    """
    cls = row.get_automation_class()
    failed = failed_task(row)
    if row.finished or not row.error or failed is None:
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
            AutomationModel.objects.filter(pk=row.pk).update(error="", wake_at=now, updated=now)
    except IntegrityError as exc:
        raise ActionNotPossible(_("Another running instance has the same unique key.")) from exc
    AutomationTaskModel.objects.create(automation=row, status=failed.status, created=now, path=failed.path)
    audit(row, user, "retry", f"Retried from {failed.status} by {user.get_username()}.", node=failed.status)
    return _("Instance #%(pk)s goes on from %(node)s.") % {"pk": row.pk, "node": failed.status}


def kill(row, user) -> str:
    """Stop the locked instance ``row`` for good: close its open tasks, mark it stopped, keep its history."""
    if row.finished:
        raise ActionNotPossible(_("A finished instance cannot be killed."))
    now = timezone.now()
    open_tasks = list(
        AutomationTaskModel.objects.filter(automation=row, finished=None).select_related("automation")
    )
    AutomationTaskModel.objects.filter(pk__in=[task.pk for task in open_tasks]).update(
        finished=now, message="killed"
    )
    error = f"Killed by {user.get_username()}."
    AutomationModel.objects.filter(pk=row.pk).update(error=error, wake_at=None, updated=now)
    audit(row, user, "kill", error)
    transaction.on_commit(lambda: _notify_tasks(open_tasks))
    return _("Instance #%(pk)s was killed.") % {"pk": row.pk}


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
        ok, _data = coerce_data(receiver_for(cls, message), data)
    except UnknownMessageError as exc:
        raise InvalidActionInput(str(exc)) from exc
    if not ok:
        raise InvalidActionInput(_("The data lacks a parameter that the receiver requires."))
    audit(row, user, "message", f"Message {message} sent by {user.get_username()}.",
          message=message, token=token, data=data)  # fmt: skip
    row.instance.send_message(message, token or None, data)
    return _("Message “%(message)s” sent to instance #%(pk)s.") % {"message": message, "pk": row.pk}


def _checked_data(data):
    try:
        jsonlimits.check(data)
    except jsonlimits.UnfitJSONError as exc:
        raise InvalidActionInput(_("The data %(error)s.") % {"error": exc}) from exc
    if not isinstance(data, dict):
        raise InvalidActionInput(_('The data must be a JSON object, like {"plan": "team"}.'))
    return data
