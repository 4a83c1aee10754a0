"""Former name of :mod:`automations.task_list_updates`, kept for imports written against it."""

from automations.task_list_updates import notify_users

__all__ = ["notify_users"]
