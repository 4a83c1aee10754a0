"""Notifications posted as JSON to a URL (a chat's incoming webhook, a project's own service).

Options: ``url`` (required), ``timeout`` in seconds (default 5), ``headers`` (a dict, say an
authorization). The body is ``{"kind": ..., "user": {"id": ..., "username": ...}, "context": {...}}``;
an answer other than 2xx counts as a failure (tried again).
"""

from __future__ import annotations

import json
import urllib.request

from django.core.exceptions import ImproperlyConfigured

from .base import Notifier


class WebhookNotifier(Notifier):
    """POST each notification as JSON to ``options["url"]``."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        if not str(options.get("url") or "").startswith(("http://", "https://")):
            raise ImproperlyConfigured("WebhookNotifier needs an http(s) 'url' in its options.")

    def send(self, notification) -> None:
        body = {
            "kind": notification.kind,
            "user": {"id": notification.user_id, "username": notification.username},
            "context": notification.context,
        }
        request = urllib.request.Request(
            self.options["url"],
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **self.options.get("headers", {})},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.options.get("timeout", 5)) as response:
            if not 200 <= response.status < 300:
                raise OSError(f"The webhook answered {response.status}.")
