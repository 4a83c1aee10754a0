"""Sending the message of an ``AutomationHook`` when its page is viewed.

Without a scheduler worker (``ATM_WORKER = False``) the message is delivered in place, with the
request as data, through the automation class' ``dispatch_message`` / ``broadcast_message`` /
``create_on_message``. With a worker it is published as a channel event (see the events schema in
the docs) and the worker delivers it with a request-like object rebuilt from :func:`request_data`.
Either way a message whose receiver's ``require_data_parameters`` are not met by the request's GET
parameters is not sent at all, and a missing or unknown ``key`` sends nothing.
"""

from __future__ import annotations

import logging

from automations import registry
from automations import settings as atm_settings
from automations.models import AutomationModel

logger = logging.getLogger("automations.cms")

KEY_PARAMETER = "key"

TARGET_KEY = "key"
TARGET_BROADCAST = "broadcast"
TARGET_CREATE = "create"


def send_page_view_message(automation_path: str, message: str, token: str | None, target: str, request):
    """Send ``message`` to the automation ``automation_path`` for a page view; return whether it was sent.

    ``target`` says who receives it: ``"key"`` the instance named by the request's ``key`` GET
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
    token = token or None
    if target == TARGET_KEY:
        model = instance_for_key(automation_class, request.GET.get(KEY_PARAMETER))
        if model is None:
            return False
        if atm_settings.get("ATM_WORKER"):
            publish_event(page_view_event("automation.message", model.pk, message, token, request))
        else:
            automation_class.dispatch_message(model.instance, message, token, request)
    elif target == TARGET_BROADCAST:
        if atm_settings.get("ATM_WORKER"):
            publish_event(page_view_event("automation.broadcast", automation_path, message, token, request))
        else:
            automation_class.broadcast_message(message, token, request)
    elif target == TARGET_CREATE:
        if atm_settings.get("ATM_WORKER"):
            publish_event(page_view_event("automation.create", automation_path, message, token, request))
        else:
            automation_class.create_on_message(message, token, request)
    else:
        logger.warning("Page view hook '%s' not sent: unknown target %r.", message, target)
        return False
    return True


def instance_for_key(automation_class: type, key) -> AutomationModel | None:
    """Return the running-or-finished instance of ``automation_class`` with ``key``, or ``None``.

    Only keys count (never ids, which can be guessed), and only instances of ``automation_class``
    or its subclasses.
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


def request_data(request) -> dict:
    """Return the JSON-able parts of ``request`` a worker rebuilds a request-like object from."""
    user = getattr(request, "user", None)
    return {
        "GET": {name: request.GET.getlist(name) for name in request.GET},
        "path": request.path,
        "method": request.method,
        "user": user.pk if user is not None and user.is_authenticated else None,
    }


def page_view_event(event_type: str, automation, message: str, token: str | None, request) -> dict:
    """Return the channel event for a page view (``automation`` is an instance id or a class path)."""
    event = {"type": event_type, "message": message, "token": token, "data": request_data(request)}
    if event_type == "automation.message":
        event["automation"] = automation
    else:
        event["automation_class"] = automation
    return event


def publish_event(event: dict) -> None:
    """Publish ``event`` on the automations channel for the scheduler worker."""
    from automations import events

    events.publish(event)
