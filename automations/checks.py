"""System checks: declared automations and Django Automations' settings."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from automations import registry
from automations.flow.automation import _BASE_ATTRIBUTES
from automations.flow.declaration import find_problems
from automations.flow.execute import SendMessage


def check_automations(app_configs=None, **kwargs):
    """Report problems of every registered automation (ids ``automations.E00x``).

    Declarations are validated when their class is created (E001-E004); this check repeats that
    and adds what can only be checked once every app is loaded: ``SendMessage`` targets given as
    dotted paths must name registered automations (E005).
    """
    errors = []
    for cls in registry.all_automations().values():
        for problem in find_problems(cls, _BASE_ATTRIBUTES):
            errors.append(checks.Error(problem.msg, hint=problem.hint, obj=cls, id=problem.id))
        errors.extend(_message_target_errors(cls))
    return errors


def _message_target_errors(cls):
    known = registry.all_automations()
    for name, node in cls._nodes.items():
        target = getattr(node, "_target", None)
        if not isinstance(node, SendMessage) or not _is_class_path(target) or target in known:
            continue
        yield checks.Error(
            f"{cls.__name__}.{name}: SendMessage() targets '{target}', which is not a registered automation.",
            hint="Fix the dotted path, or make sure the target's module is an 'automations' module of an "
            "installed app.",
            obj=cls,
            id="automations.E005",
        )


def _is_class_path(target) -> bool:
    return isinstance(target, str) and "." in target and not target.startswith("self.")


def check_permission_settings(app_configs=None, **kwargs):
    """Report group settings set only in part (``automations.E010``) or not resolving (``E011``)."""
    from automations.permissions import CUSTOM_SETTINGS, custom_method, custom_settings_problem, group_model

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
    from automations.tasks import form_nodes

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
