"""Page-view hooks: send a message to automations because a page was rendered.

Used by the ``{% automation_hook %}`` template tag and the Django-CMS ``AutomationHook`` plugin, which
both call :func:`page_viewed`. Rendering a page never runs an automation's nodes:

- with a scheduler worker (``ATM_WORKER = True``, or one in this process) the message is published as an
  ``automation.message`` (``automation.broadcast``, ``automation.create``) event;
- without one, the message is delivered in this process once the response has been sent
  (immediately when there is no request being served, e.g. in a management command).

Either way nothing is sent unless the request's GET parameters satisfy the receiver's
``require_data_parameters``.

A page's target often comes from the request itself (``?key=...``). A string therefore selects an
instance by its key only, never by id (ids can be guessed) and never as a class path (which would
broadcast to every instance); a key that names no instance, or is no key at all, sends nothing and
never fails the page. Broadcasts and new instances need the class itself.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import partial

from django.core.signals import request_finished, request_started
from django.db import transaction

from automations import events, registry
from automations.events import wakeups
from automations.flow import Automation
from automations.logsafe import shown
from automations.models import AutomationModel
from automations.receivers import UnknownMessageError, receiver_for

logger = logging.getLogger("automations.hooks")

_state = threading.local()
# What new_key() makes: secrets.token_urlsafe, within the key field's 64 characters.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def page_viewed(
    request, target, message: str, token: str | None = None, *, create: bool = False, automation_class=None
) -> bool:
    """Send ``message`` (with ``token``) to ``target`` because ``request``'s page is rendered.

    ``target`` is one of:

    - an automation instance, or an instance id (an ``int``): that instance;
    - an automation class: every running instance of it, or with ``create=True`` a new instance;
    - a string: the instance whose key (``get_key()``) it is, an instance of ``automation_class`` (or
      a subclass) if that is given. Nothing else: values taken from a request select by key only.

    The receiver gets the request as its ``data``. Return whether the message was sent or
    published; ``False`` if the target names no instance, the request lacks the receiver's
    required parameters, or (for a key) the instance's class has no such receiver. Raise
    :class:`~automations.flow.UnknownMessageError` if an instance, id or class given by the
    caller has no receiver for ``message``.
    """
    resolved = _recipient(target, message, automation_class)
    if resolved is None:
        return False
    target_class, reference = resolved
    receiver_for(target_class, message)
    if not target_class.satisfies_data_requirements(message, request):
        return False
    send = partial(_send_here, target_class, reference, message, token, request, create)
    if wakeups.worker_available():
        event = page_view_event(target_class, reference, message, token, request, create=create)
        transaction.on_commit(lambda: _publish(event, send))
    else:
        _after_response(send)
    return True


def _recipient(target, message, automation_class):
    """Return ``(automation class, instance id or None)`` for a page-view ``target``, or ``None``."""
    if isinstance(target, Automation):
        return type(target), target.id
    if isinstance(target, type) and issubclass(target, Automation):
        return target, None
    if isinstance(target, int) and not isinstance(target, bool):
        model = AutomationModel.objects.filter(pk=target).first()
        if model is None or model.automation_class not in registry.all_automations():
            logger.info("Page-view message %s not sent: no automation instance %s.", shown(message), target)
            return None
        return model.get_automation_class(), model.pk
    if not isinstance(target, str):
        logger.info("Page-view message %s not sent: %s names no automation.", shown(message), shown(target))
        return None
    model = instance_for_key(automation_class or Automation, target)
    if model is None:
        logger.info("Page-view message %s not sent: %s is no instance's key.", shown(message), shown(target))
        return None
    try:
        receiver_for(model.get_automation_class(), message)
    except UnknownMessageError:  # the visitor's key named an automation of another kind
        logger.info("Page-view message %s not sent: %s has no receiver for it.", shown(message), model)
        return None
    return model.get_automation_class(), model.pk


def instance_for_key(automation_class: type, key):
    """Return the ``AutomationModel`` of ``automation_class`` (or a subclass) whose key is ``key``.

    Return ``None`` for anything else: no such instance, an instance of another class, or a value
    that cannot be a key (not a string, too long, characters no key has). Only keys count, never
    ids, which can be guessed.
    """
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        return None
    model = AutomationModel.objects.filter(key=key).first()
    if model is None:
        return None
    try:
        found_class = model.get_automation_class()
    except LookupError:
        return None
    return model if issubclass(found_class, automation_class) else None


def page_view_event(automation_class, reference, message, token, request, *, create=False) -> dict:
    """Return the channel event for a page-view message; the request travels as ``request``."""
    if reference is not None:
        event = {"type": "automation.message", "automation": reference}
    else:
        kind = "automation.create" if create else "automation.broadcast"
        event = {"type": kind, "automation_class": automation_class.get_automation_class_name()}
    event.update(message=message, token=token, data=None, request=request_payload(request))
    return event


def request_payload(request) -> dict:
    """Return what a receiver may use of ``request`` as JSON: ``GET``, ``path``, ``method``, ``user``."""
    user = getattr(request, "user", None)
    return {
        "GET": {key: request.GET.getlist(key) for key in request.GET},
        "path": request.path,
        "method": request.method,
        "user": _user_key(user) if user is not None and user.is_authenticated else None,
    }


def _user_key(user):
    """Return the user's primary key as JSON: an int, or a string (a UUID, say)."""
    return user.pk if isinstance(user.pk, int) else str(user.pk)


def _publish(event, send):
    """Publish ``event``; if the channel layer refuses it (full, unreachable), ``send`` here."""
    try:
        events.publish(event)
    except Exception as exc:
        logger.warning("Page-view event not published (%s); delivering the message here.", shown(exc))
        _after_response(send)


def _send_here(automation_class, reference, message, token, request, create):
    if reference is not None:
        automation_class.dispatch_message(reference, message, token, request)
    elif create:
        automation_class.create_on_message(message, token, request)
    else:
        automation_class.broadcast_message(message, token, request)


# -- after the response -------------------------------------------------------------------------


def _after_response(callback):
    if getattr(_state, "pending", None) is None:
        _run(callback)
    else:
        _state.pending.append(callback)


def _run(callback):
    try:
        callback()
    except Exception:
        logger.exception("A page-view message could not be delivered.")


def _request_started(sender, **kwargs):
    _state.pending = []


def _request_finished(sender, **kwargs):
    pending, _state.pending = getattr(_state, "pending", None) or [], None
    for callback in pending:
        _run(callback)


def connect_receivers():
    """Deliver in-process page-view messages after the response (called by the app config)."""
    request_started.connect(_request_started, dispatch_uid="automations.hooks.request_started")
    request_finished.connect(_request_finished, dispatch_uid="automations.hooks.request_finished")
