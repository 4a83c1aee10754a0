from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = _("Automations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks

        from automations import checks as automation_checks

        checks.register(automation_checks.check_automations)
        autodiscover_modules("automations")
