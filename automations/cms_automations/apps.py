from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CMSAutomationsConfig(AppConfig):
    name = "automations.cms_automations"
    label = "cms_automations"
    verbose_name = _("Automations for django CMS")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks

        from automations.cms_automations.checks import check_task_list_templates

        checks.register(check_task_list_templates)
