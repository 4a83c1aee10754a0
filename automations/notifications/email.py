"""Notifications by Django's e-mail (``send_mail``), from templates a project can override.

The subject is ``automations/notifications/<kind>_subject.txt`` and the text
``automations/notifications/<kind>.txt``, rendered with the notification's ``context`` plus
``username`` and ``kind``. Options: ``from_email`` (default ``DEFAULT_FROM_EMAIL``). Users without
an e-mail address are skipped.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.template.loader import render_to_string

from .base import Notifier


class EmailNotifier(Notifier):
    """Send each notification as an e-mail to the user's address."""

    def send(self, notification) -> None:
        if not notification.email:
            return
        context = {**notification.context, "username": notification.username, "kind": notification.kind}
        folder = "automations/notifications/"
        subject = render_to_string(f"{folder}{notification.kind}_subject.txt", context)
        body = render_to_string(f"{folder}{notification.kind}.txt", context)
        send_mail(
            " ".join(subject.split()),
            body,
            self.options.get("from_email"),
            [notification.email],
            fail_silently=False,
        )
