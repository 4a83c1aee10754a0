from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _

from automations import permissions


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = _("Automations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # These modules import the models, which are not loaded yet when Django imports this module.
        from automations import checks as automation_checks
        from automations import (
            engine,  # also gives AutomationModel.run() its sweep
            notifications,
            page_views,
            subautomations,
        )
        from automations.diagram import live as diagram_live
        from automations.notifications import reminders
        from automations.tasklist import live as task_list_live
        from automations.versions import records as versions

        # Some but not all of the non-standard group settings: refuse to start (ImproperlyConfigured),
        # as the reference says; the system check automations.E010 reports it to `manage.py check`
        # when the settings change later (override_settings in tests).
        permissions.uses_custom_permissions()

        checks.register(automation_checks.check_automations)
        checks.register(automation_checks.check_permission_settings)
        checks.register(automation_checks.check_unassigned_forms)
        checks.register(automation_checks.check_worker_reachable)
        checks.register(automation_checks.check_reply_capacity)
        checks.register(automation_checks.check_limit_settings)
        checks.register(automation_checks.check_task_backend)
        checks.register(automation_checks.check_versions, checks.Tags.database)
        post_migrate.connect(versions.forget, dispatch_uid="automations.versions.forget")
        page_views.connect_receivers()
        subautomations.connect_receivers()
        engine.admission.connect_receivers()
        task_list_live.connect_receivers()
        diagram_live.connect_receivers()
        engine.hooks.register(task_list_live.after_step)
        engine.hooks.register(diagram_live.after_step)
        engine.hooks.register(notifications.after_step)
        engine.hooks.register(subautomations.advance_parent)
        engine.hooks.register(engine.admission.after_step)
        engine.sweep_jobs.register(reminders.remind_approaching_deadlines)
        autodiscover_modules("automations")
