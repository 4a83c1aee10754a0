"""The task that runs long calls on the project's task backend (``TASKS``).

Imported only when the project uses a task backend: on Django 5.2 the task framework is the
``django-tasks`` backport (``django_tasks``), on Django 6 it is ``django.tasks``.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from typing import Any

from .call_runner import run

framework: Any = importlib.import_module("django.tasks" if find_spec("django.tasks") else "django_tasks")


@framework.task()
def run_long_call(token: str, attempt: int) -> str:
    """Run attempt ``attempt`` of the long call ``token``; return ``"done"`` or ``"ignored"``."""
    return run(token, attempt)
