"""Signals sent by Django Automations (``sender`` is the automation class)."""

from django.dispatch import Signal

#: An instance reached ``End`` (or its last path ended). Arguments: ``automation``.
automation_finished = Signal()

#: A node raised an exception. Arguments: ``task``, ``exception``.
task_failed = Signal()
