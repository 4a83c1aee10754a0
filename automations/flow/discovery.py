"""Finding declared automations, and starting them from Django signals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.apps import AppConfig, apps
from django.db import transaction
from django.dispatch import Signal

from automations import registry

# An automation class; typed loosely, as flow.Automation is declared with this module's help.
_AutomationClass = TypeVar("_AutomationClass", bound="type[Any]")


def _app_module(app: str | AppConfig) -> str:
    if isinstance(app, AppConfig):
        return app.name
    try:
        return apps.get_app_config(app).name
    except LookupError:
        return str(app)


def get_automations(app: str | AppConfig | None = None) -> list[tuple[str, str]]:
    """Return ``(dotted_path, verbose_name)`` for the declared automations, sorted by path.

    Automations are declared in modules named ``automations`` (or their submodules), e.g.
    ``shop/automations.py``; installed apps' ``automations`` modules are imported at start-up.
    With ``app`` (an app label, app module name or AppConfig) only ``<app>.automations`` counts.
    """
    matches: Callable[[str], bool]
    if app is not None:
        prefix = _app_module(app) + ".automations"
        matches = lambda module: module == prefix or module.startswith(prefix + ".")  # noqa: E731
    else:
        matches = lambda module: "automations" in module.split(".")[1:]  # noqa: E731
    return sorted(
        (path, cls.get_verbose_name())
        for path, cls in registry.all_automations().items()
        if matches(cls.__module__)
    )


def on_signal(signal: Signal, **connect_kwargs: Any) -> Callable[[_AutomationClass], _AutomationClass]:
    """Class decorator: start a new instance of the automation whenever ``signal`` is sent.

    If the automation defines ``started_by_signal(self, sender, **kwargs)``, it is called with
    the signal's arguments before the first node runs, e.g. to store them in ``data``::

        @flow.on_signal(user_signed_up)
        class Welcome(flow.Automation):
            def started_by_signal(self, sender, user, **kwargs):
                self.data["user_id"] = user.pk
    """

    def decorate(cls: _AutomationClass) -> _AutomationClass:
        def start_automation(sender: object, **kwargs: Any) -> None:
            with transaction.atomic():  # if started_by_signal raises, no unstarted instance is left
                instance = cls(autorun=False)
                if hasattr(instance, "started_by_signal"):
                    instance.started_by_signal(sender, **kwargs)
                    instance.save()
            instance.run()

        uid = f"automations.on_signal:{cls.get_automation_class_name()}"
        signal.connect(start_automation, weak=False, dispatch_uid=uid, **connect_kwargs)
        return cls

    return decorate
