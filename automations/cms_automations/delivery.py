"""Sending the message of an ``AutomationHook`` when its page is viewed.

The plugin decides *who* receives the message (the instance of the ``key`` GET parameter, every
running instance, or a new instance) and checks that the key names an instance of the chosen
automation; :func:`page_viewed` then sends it:

- without a scheduler worker (``ATM_WORKER = False``) in place, with the request as data, through
  the automation class' ``dispatch_message`` / ``broadcast_message`` / ``create_on_message``;
- with a worker as an ``automation.message`` / ``automation.broadcast`` / ``automation.create``
  channel event once the current transaction commits; the request travels as the event's
  ``request`` entry (:func:`request_payload`) and the worker rebuilds a request-like object from it.

Either way a message whose receiver's ``require_data_parameters`` are not met by the request's GET
parameters is not sent at all, and a missing or unknown ``key`` sends nothing.
"""

from __future__ import annotations

import logging

from django.db import transaction

from automations import registry
from automations import settings as atm_settings
from automations.models import AutomationModel

logger = logging.getLogger("automations.cms")

KEY_PARAMETER = "key"

TARGET_KEY = "key"
TARGET_BROADCAST = "broadcast"
TARGET_CREATE = "create"


def send_page_view_message(
    automation_path: str, message: str, token: str | None, send_to: str, request
) -> bool:
    """Send ``message`` to the automation ``automation_path`` for a page view; return whether it was sent.

    ``send_to`` says who receives it: ``"key"`` the instance named by the request's ``key`` GET
    parameter, ``"broadcast"`` every running instance, ``"create"`` a new instance.
    """
    try:
        automation_class = registry.get(automation_path)
        requirements_met = automation_class.satisfies_data_requirements(message, request)
    except (LookupError, AttributeError) as exc:
        logger.warning("Page view hook not sent: %s", exc)
        return False
    if not requirements_met:
        logger.info("Page view hook '%s' not sent: the request lacks required GET parameters.", message)
        return False
    if send_to == TARGET_KEY:
        model = instance_for_key(automation_class, request.GET.get(KEY_PARAMETER))
        if model is None:
            return False
        target = model.pk
    elif send_to in (TARGET_BROADCAST, TARGET_CREATE):
        target = automation_class
    else:
        logger.warning("Page view hook '%s' not sent: unknown recipients %r.", message, send_to)
        return False
    return page_viewed(request, target, message, token or None, create=send_to == TARGET_CREATE)


def instance_for_key(automation_class: type, key) -> AutomationModel | None:
    """Return the instance of ``automation_class`` (or a subclass) whose key is ``key``, or ``None``.

    Only keys count, never ids, which can be guessed.
    """
    if not key or not isinstance(key, str):
        return None
    model = AutomationModel.objects.filter(key=key).first()
    if model is None:
        return None
    try:
        found_class = model.get_automation_class()
    except LookupError:
        return None
    return model if issubclass(found_class, automation_class) else None


def page_viewed(request, target, message: str, token: str | None = None, *, create: bool = False) -> bool:
    """Send ``message`` to ``target`` (an instance id, or an automation class) for ``request``'s page.

    A class receives it as a broadcast to its running instances, or with ``create=True`` by a new
    instance. Return whether it was sent or published.
    """
    if isinstance(target, int):
        automation_class = AutomationModel.objects.get(pk=target).get_automation_class()
        reference = target
    else:
        automation_class, reference = target, None
    if not automation_class.satisfies_data_requirements(message, request):
        return False
    if atm_settings.get("ATM_WORKER"):
        event = page_view_event(automation_class, reference, message, token, request, create=create)
        transaction.on_commit(lambda: publish_event(event))
    elif reference is not None:
        automation_class.dispatch_message(reference, message, token, request)
    elif create:
        automation_class.create_on_message(message, token, request)
    else:
        automation_class.broadcast_message(message, token, request)
    return True


def page_view_event(automation_class, reference, message, token, request, *, create=False) -> dict:
    """Return the channel event for a page-view message (``reference``: an instance id or ``None``)."""
    if reference is not None:
        event = {"type": "automation.message", "automation": reference}
    else:
        kind = "automation.create" if create else "automation.broadcast"
        event = {"type": kind, "automation_class": automation_class.get_automation_class_name()}
    event.update(message=message, token=token, data=None, request=request_payload(request))
    return event


def request_payload(request) -> dict:
    """Return the JSON-able parts of ``request`` a worker rebuilds a request-like object from."""
    user = getattr(request, "user", None)
    return {
        "GET": {name: request.GET.getlist(name) for name in request.GET},
        "path": request.path,
        "method": request.method,
        "user": user.pk if user is not None and user.is_authenticated else None,
    }


def publish_event(event: dict) -> None:
    """Publish ``event`` on the automations channel for the scheduler worker."""
    from automations import events

    events.publish(event)
