"""Signals sent by Django Automations (``sender`` is the automation class)."""

from django.dispatch import Signal

#: An instance reached ``End`` (or its last path ended). Arguments: ``automation``.
automation_finished = Signal()

#: A node raised an exception. Arguments: ``task``, ``exception``.
task_failed = Signal()

#: A step moved an instance: at least one node was visited (sent once the step has committed).
#: Arguments: ``automation``.
automation_advanced = Signal()
