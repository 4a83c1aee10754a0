"""System checks: declared automations and Django Automations' settings."""

from django.core import checks

from automations import registry
from automations.flow.automation import _BASE_ATTRIBUTES
from automations.flow.declaration import find_problems
from automations.flow.execute import SendMessage


def check_automations(app_configs=None, **kwargs):
    """Report problems of every registered automation (ids ``automations.E00x``, ``W00x``).

    Declarations are validated when their class is created (E001-E004, and the warning W004); this
    check repeats that
    and adds what can only be checked once every app is loaded: ``SendMessage`` targets given as
    dotted paths must name registered automations (E005).
    """
    errors = []
    for cls in registry.all_automations().values():
        for problem in find_problems(cls, _BASE_ATTRIBUTES):
            level = checks.Error if problem.is_error else checks.Warning
            errors.append(level(problem.msg, hint=problem.hint, obj=cls, id=problem.id))
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
