"""Former name of :mod:`consumers.task_list`, kept for imports written against it."""

from consumers.task_list import TaskListConsumer

__all__ = ["TaskListConsumer"]
