"""System checks of the CMS plugins' settings (ids ``cms_automations.E00x``)."""

from django.conf import settings
from django.core import checks

SETTING = "ATM_CMS_TASK_LIST_TEMPLATES"
EXAMPLE = '[("automations/includes/task_list.html", _("Task list"))]'


def check_task_list_templates(app_configs=None, **kwargs):
    """Report an ``ATM_CMS_TASK_LIST_TEMPLATES`` that is not a non-empty list of (path, name) pairs."""
    if not hasattr(settings, SETTING):
        return []
    value = getattr(settings, SETTING)
    if not isinstance(value, list | tuple) or not value:
        return [
            checks.Error(
                f"{SETTING} must be a non-empty list of (template path, verbose name) pairs, not {value!r}.",
                hint=f"For example {SETTING} = {EXAMPLE}, or remove the setting to use that default.",
                id="cms_automations.E001",
            )
        ]
    for entry in value:
        if not (
            isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[0], str) and entry[0]
        ):
            return [
                checks.Error(
                    f"{SETTING} contains {entry!r}, which is not a (template path, verbose name) pair.",
                    hint=f"For example {SETTING} = {EXAMPLE}.",
                    id="cms_automations.E002",
                )
            ]
    return []
