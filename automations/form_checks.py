"""System checks of forms: who may process them, and the settings for non-standard groups."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from automations import registry
from automations.permissions import (
    CUSTOM_SETTINGS,
    custom_method,
    custom_settings_problem,
    form_nodes,
    group_model,
)


def check_permission_settings(app_configs=None, **kwargs):
    """Report group settings set only in part (``automations.E010``) or not resolving (``E011``)."""
    problem = custom_settings_problem()
    if problem:
        return [
            checks.Error(
                problem,
                hint=f"Set all of {', '.join(CUSTOM_SETTINGS)} (see 'Non-standard Group and Permissions'), "
                "or remove them to use auth.Group and Django's permissions.",
                id="automations.E010",
            )
        ]
    errors = []
    lookups = (
        lambda: group_model(),
        lambda: custom_method("ATM_USER_WITH_PERMISSIONS_FORM_METHOD"),
        lambda: custom_method("ATM_USER_WITH_PERMISSIONS_MODEL_METHOD"),
    )
    for lookup in lookups:
        try:
            lookup()
        except ImproperlyConfigured as exc:
            hint = "Fix the setting's dotted path."
            errors.append(checks.Error(str(exc), hint=hint, id="automations.E011"))
    return errors


def check_unassigned_forms(app_configs=None, **kwargs):
    """Warn about ``Form`` nodes any logged-in user may process (``automations.W010``)."""
    warnings = []
    for cls in registry.all_automations().values():
        for name, node in form_nodes(cls).items():
            if not node.is_assigned():
                warnings.append(
                    checks.Warning(
                        f"{cls.__name__}.{name}: Form() has no .User(), .Group() or .Permission(), "
                        "so any logged-in user may process it.",
                        hint="Assign the form, or add 'automations.W010' to SILENCED_SYSTEM_CHECKS if "
                        "every logged-in user is meant to process it.",
                        obj=cls,
                        id="automations.W010",
                    )
                )
    return warnings
