"""Sending the message of an ``AutomationHook`` when its page is viewed.

The plugin decides *who* receives the message: the instance of the ``key`` GET parameter (an
instance of the chosen automation, selected by its key only), every running instance, or a new
instance. :func:`automations.page_views.page_viewed`, the function the ``automation_hook`` template tag
calls too, then sends it: without a scheduler worker after the response, with the request as data;
with a worker as an ``automation.message`` / ``automation.broadcast`` / ``automation.create``
channel event once the current transaction commits.

Either way a message whose receiver's ``require_data_parameters`` are not met by the request's GET
parameters is not sent at all, and a missing, unknown or malformed ``key`` sends nothing.
"""

from __future__ import annotations

import logging

from automations import registry
from automations.logsafe import shown
from automations.page_views import instance_for_key, page_viewed

from .models import TARGET_BROADCAST, TARGET_CREATE, TARGET_KEY

logger = logging.getLogger("automations.cms")

KEY_PARAMETER = "key"

__all__ = ["instance_for_key", "send_page_view_message"]


def send_page_view_message(
    automation_path: str, message: str, token: str | None, send_to: str, request
) -> bool:
    """Send ``message`` to the automation ``automation_path`` for a page view; return whether it was sent.

    ``send_to`` says who receives it: ``"key"`` the instance named by the request's ``key`` GET
    parameter, ``"broadcast"`` every running instance, ``"create"`` a new instance.
    """
    try:
        automation_class = registry.get(automation_path)
        automation_class.satisfies_data_requirements(message, request)
    except (LookupError, AttributeError) as exc:
        logger.warning("Page view hook not sent: %s", shown(str(exc)))
        return False
    if send_to == TARGET_KEY:
        key = request.GET.get(KEY_PARAMETER)
        return page_viewed(request, key, message, token or None, automation_class=automation_class)
    if send_to in (TARGET_BROADCAST, TARGET_CREATE):
        return page_viewed(request, automation_class, message, token or None, create=send_to == TARGET_CREATE)
    logger.warning("Page view hook %s not sent: unknown recipients %s.", shown(message), shown(send_to))
    return False
