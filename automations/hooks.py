"""Former name of :mod:`automations.page_views`, kept for imports written against it."""

from automations.page_views import instance_for_key, page_viewed, request_payload

__all__ = ["instance_for_key", "page_viewed", "request_payload"]
