"""System checks: declared automations and Django Automations' settings."""

from django.core import checks

from automations import registry
from automations.flow.automation import _BASE_ATTRIBUTES
from automations.flow.declaration import find_problems


def check_automations(app_configs=None, **kwargs):
    """Report declaration problems of every registered automation (ids ``automations.E00x``)."""
    errors = []
    for cls in registry.all_automations().values():
        for problem in find_problems(cls, _BASE_ATTRIBUTES):
            errors.append(checks.Error(problem.msg, hint=problem.hint, obj=cls, id=problem.id))
    return errors
