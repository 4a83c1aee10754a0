"""The open tasks a user may process, as the task list plugin shows them: the task list view's rule."""

from automations.worklist import open_tasks_for

__all__ = ["open_tasks_for"]
