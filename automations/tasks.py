"""Former name of :mod:`automations.worklist`, kept for imports written against it."""

from automations.worklist import open_form_tasks, open_task_list_for, open_tasks_for

__all__ = ["open_form_tasks", "open_task_list_for", "open_tasks_for"]
