"""Sending the message of an ``AutomationHook`` when its page is viewed.

The plugin decides *who* receives the message (the instance of the ``key`` GET parameter, every
running instance, or a new instance) and checks that the key names an instance of the chosen
automation; :func:`automations.hooks.page_viewed` (the same path the ``automation_hook`` template
tag takes) then sends it: without a scheduler worker after the response, with the request as data;
with a worker as an ``automation.message`` / ``automation.broadcast`` / ``automation.create``
channel event once the current transaction commits.

Either way a message whose receiver's ``require_data_parameters`` are not met by the request's GET
parameters is not sent at all, and a missing or unknown ``key`` sends nothing.
"""

from __future__ import annotations

import logging

from automations import registry
from automations.hooks import page_viewed, request_payload  # noqa: F401 - one sending path for tags and plugins
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
