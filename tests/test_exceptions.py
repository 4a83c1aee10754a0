"""Every error the library raises on purpose derives from ``AutomationsError`` and keeps its builtin base."""

import importlib
import inspect
from pathlib import Path

import pytest
from django.apps import apps

import automations
import consumers
from automations import flow, jsonlimits, registry, testing
from automations.exceptions import AutomationsError

# Exception classes that do not derive from AutomationsError (the test fails on any other, and on
# one listed here that does: the list cannot go stale).
NOT_DERIVED_YET: list[str] = []  # every error of the library derives from AutomationsError


def library_modules() -> list[str]:
    """Return the dotted names of every module of ``automations`` and ``consumers``, migrations left out.

    Found from the files, without importing a package on the way: without django CMS the plugins'
    package cannot be imported at all.
    """
    names = []
    for package in (automations, consumers):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if name.startswith("automations.cms_automations") and not apps.is_installed(
                "automations.cms_automations"
            ):
                continue  # django CMS is optional; without it the plugins cannot be imported
            names.append(name)
    return names


def exception_classes() -> dict[str, type]:
    """Return ``{dotted path: class}`` of every exception class the library's modules define."""
    found = {}
    for name in library_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_every_exception_class_of_the_library_derives_from_automations_error():
    classes = exception_classes()

    assert "automations.registry.UnknownAutomationError" in classes  # the walk sees the modules
    assert sorted(path for path, cls in classes.items() if not issubclass(cls, AutomationsError)) == (
        NOT_DERIVED_YET
    )


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (flow.AutomationDeclarationError, TypeError),
        (flow.AutomationFinishedError, RuntimeError),
        (flow.UnknownMessageError, AttributeError),
        (flow.SubAutomationFailed, RuntimeError),
        (jsonlimits.UnfitJSONError, ValueError),
        (registry.UnknownAutomationError, LookupError),
        (testing.NotIdleError, AssertionError),
    ],
)
def test_a_library_error_keeps_its_builtin_base(error, builtin):
    assert issubclass(error, AutomationsError)
    assert issubclass(error, builtin)


def test_one_except_clause_catches_the_library_errors_and_the_builtin_one_still_works():
    with pytest.raises(AutomationsError, match="is not a registered automation class"):
        registry.get("shop.automations.Nothing")
    with pytest.raises(LookupError):
        registry.get("shop.automations.Nothing")
    with pytest.raises(AutomationsError):
        jsonlimits.check({"deep": float("nan")})
