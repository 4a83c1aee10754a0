"""Settings of the CMS plugins, read at call time.

``ATM_CMS_TASK_LIST_TEMPLATES``
    The templates page authors choose from for the ``AutomationTaskList`` plugin: a list of
    ``(template path, verbose name)`` pairs. The first one is the default. Each template gets the
    user's open tasks as ``tasks``. Default::

        [("automations/includes/task_list.html", _("Task list"))]
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

DEFAULT_TASK_LIST_TEMPLATES = [("automations/includes/task_list.html", _("Task list"))]


def task_list_templates() -> list[tuple[str, str]]:
    """Return the ``(path, verbose name)`` pairs page authors may choose for the task list plugin."""
    return [
        tuple(entry)
        for entry in getattr(settings, "ATM_CMS_TASK_LIST_TEMPLATES", DEFAULT_TASK_LIST_TEMPLATES)
    ]
