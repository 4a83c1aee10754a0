"""The notifiers of ``ATM_NOTIFIERS``: what a notifier is, and loading the configured ones.

A notifier is a class with ``send(notification)``, named by its dotted path (or given itself),
made once per process with the ``options`` of its entry; ``send`` raises if it could not send
(it is then tried again, see :mod:`automations.notifications.delivery`)::

    ATM_NOTIFIERS = [
        "automations.notifications.email.EmailNotifier",
        {"class": "automations.notifications.webhook.WebhookNotifier",
         "options": {"url": "https://chat.example.com/hooks/work"}},
    ]
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from automations import settings as atm_settings


class Notifier:
    """The base of notifiers: override :meth:`send`."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def send(self, notification) -> None:
        """Send ``notification`` (a :class:`~automations.notifications.Notification`); raise if it failed."""
        raise NotImplementedError


def configured() -> list[Notifier]:
    """Return the notifiers ``ATM_NOTIFIERS`` names (made once per value of the setting)."""
    return list(_made(repr(atm_settings.get("ATM_NOTIFIERS"))))


def _notifier_class(target):
    if isinstance(target, type):
        return target
    try:
        return import_string(target)
    except (ImportError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"ATM_NOTIFIERS names {target!r}, which cannot be imported: {exc}"
        ) from exc


@cache
def _made(key: str) -> tuple[Notifier, ...]:  # keyed by the setting's repr: a changed setting makes new ones
    notifiers = []
    for entry in atm_settings.get("ATM_NOTIFIERS"):
        target, options = (
            (entry.get("class"), entry.get("options", {})) if isinstance(entry, dict) else (entry, {})
        )
        notifiers.append(_notifier_class(target)(**options))
    return tuple(notifiers)
