from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

from automations.cms_automations.checks import check_task_list_templates


class CMSAutomationsConfig(AppConfig):
    name = "automations.cms_automations"
    label = "cms_automations"
    verbose_name = _("Automations for django CMS")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        checks.register(check_task_list_templates)
