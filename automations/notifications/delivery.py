"""Sending notifications after the commit: on a thread of their own, each tried again, failures logged.

``ATM_NOTIFY_IN_BACKGROUND`` (default ``True``) sends on one thread per process, so that the
request or the worker that committed goes on at once; each notifier is tried
``ATM_NOTIFY_ATTEMPTS`` times per notification, waiting ``ATM_NOTIFY_RETRY_DELAY`` seconds before
the second try and twice as long before each further one. Sent in the committing thread
(``ATM_NOTIFY_IN_BACKGROUND = False``, for tests), the tries follow each other without a wait.
A notification that never goes out is logged (logger ``automations.notifications``) and
dropped: notifications are a courtesy, the inbox is the record.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from automations import settings as atm_settings
from automations.logsafe import shown

from .base import configured

logger = logging.getLogger("automations.notifications")
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def send(notifications) -> None:
    """Send ``notifications`` with every configured notifier, in the background if so configured."""
    notifiers = configured()
    if not notifiers or not notifications:
        return
    if atm_settings.get("ATM_NOTIFY_IN_BACKGROUND"):
        _background().submit(deliver_all, notifiers, list(notifications))
    else:
        deliver_all(notifiers, notifications, wait=False)


def deliver_all(notifiers, notifications, *, wait: bool = True) -> int:
    """Send each notification with each notifier; return how many sendings failed for good."""
    failed = 0
    for notification in notifications:
        for notifier in notifiers:
            failed += not deliver(notifier, notification, wait=wait)
    return failed


def deliver(notifier, notification, *, wait: bool = True) -> bool:
    """Send one notification with one notifier, trying again as configured; return whether it went out.

    ``wait``: wait between the tries (``ATM_NOTIFY_RETRY_DELAY``, doubled each time).
    """
    attempts = max(1, int(atm_settings.get("ATM_NOTIFY_ATTEMPTS")))
    delay = float(atm_settings.get("ATM_NOTIFY_RETRY_DELAY")) if wait else 0.0
    for attempt in range(1, attempts + 1):
        try:
            notifier.send(notification)
            return True
        except Exception as exc:  # any failure of a notifier: never let it reach the caller
            last = exc
            if attempt < attempts and delay > 0:
                time.sleep(delay * 2 ** (attempt - 1))  # on the notifications' own thread
    logger.error(
        "Could not send the %s notification to user %s with %s after %d attempts: %s",
        notification.kind,
        notification.user_id,
        type(notifier).__name__,
        attempts,
        shown(last),
    )
    return False


def _background() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="automations-notify")
        return _executor
