"""Page-view hooks: send a message to automations because a page was rendered.

Used by the ``{% automation_hook %}`` template tag (and the Django-CMS ``AutomationHook`` plugin).
Rendering a page never runs an automation's nodes:

- with a scheduler worker (``ATM_WORKER = True``, or one in this process) the message is published as an
  ``automation.message`` (``automation.broadcast``, ``automation.create``) event;
- without one, the message is delivered in this process once the response has been sent
  (immediately when there is no request being served, e.g. in a management command).

Either way nothing is sent unless the request's GET parameters satisfy the receiver's
``require_data_parameters``.
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from django.core.signals import request_finished, request_started
from django.db import transaction

from automations import registry, wakeups

logger = logging.getLogger("automations.hooks")

_state = threading.local()


def page_viewed(request, target, message: str, token: str | None = None, *, create: bool = False) -> bool:
    """Send ``message`` (with ``token``) to ``target`` because ``request``'s page is rendered.

    ``target`` is an automation instance, an instance id or key, or an automation class or its
    dotted path (then every running instance receives it; with ``create=True`` a new instance is
    created for it). The receiver gets the request as its ``data``. Return whether the message was
    sent or published; ``False`` if the request lacks the receiver's required parameters or the
    instance does not exist.
    """
    from automations.flow import Automation
    from automations.flow.messages import receiver_for
    from automations.models import AutomationModel

    if isinstance(target, Automation):
        automation_class, reference = type(target), target.id
    elif isinstance(target, type) and issubclass(target, Automation):
        automation_class, reference = target, None
    elif isinstance(target, str) and "." in target and not target.isdigit():
        automation_class, reference = registry.get(target), None
    else:
        try:
            model = AutomationModel.objects.get_by_reference(target)
        except AutomationModel.DoesNotExist:
            logger.info("Page view message '%s' not sent: no automation %r.", message, target)
            return False
        automation_class, reference = model.get_automation_class(), model.pk
    receiver_for(automation_class, message)
    if not automation_class.satisfies_data_requirements(message, request):
        return False
    deliver = partial(_deliver, automation_class, reference, message, token, request, create)
    if wakeups.worker_available():
        event = page_view_event(automation_class, reference, message, token, request, create=create)
        transaction.on_commit(lambda: _publish(event, deliver))
    else:
        _after_response(deliver)
    return True


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


def _publish(event, deliver):
    """Publish ``event``; if the channel layer refuses it (full, unreachable), ``deliver`` in place."""
    from automations import events

    try:
        events.publish(event)
    except Exception as exc:
        logger.warning("Page-view event not published (%r); delivering the message here.", exc)
        _after_response(deliver)


def _deliver(automation_class, reference, message, token, request, create):
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
