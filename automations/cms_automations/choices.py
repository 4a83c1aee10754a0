"""What page authors can choose from: status templates and published receivers of automations.

Choices are computed from the registry of declared automations each time a plugin form is built,
so a newly declared automation or template appears without a migration. A choice is stored as
``"<automation class path>:<name>"`` (see :func:`split_choice`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from automations import registry
from automations.receivers import RECEIVER_PREFIX

TEMPLATE_SUFFIX = "_template"
# Declared in Meta for the dashboard, rendered with a queryset: not a status view of one instance.
NOT_STATUS_TEMPLATES = frozenset({"dashboard_template"})


def join_choice(automation_path: str, name: str) -> str:
    """Return the stored value of a choice: ``"<class path>:<name>"``."""
    return f"{automation_path}:{name}"


def split_choice(value: str) -> tuple[str, str]:
    """Return ``(class path, name)`` of a stored choice; raise ``ValueError`` if it has no ``:``."""
    automation_path, separator, name = str(value).rpartition(":")
    if not separator or not automation_path or not name:
        raise ValueError(f"{value!r} is not of the form '<automation class path>:<name>'.")
    return automation_path, name


def status_templates(automation_class: type) -> dict[str, tuple[str, str]]:
    """Return ``{attribute: (template path, verbose name)}`` for the ``*_template`` entries of ``Meta``.

    ``Meta.status_template = "shop/status.html", _("Current status")`` gives
    ``{"status_template": ("shop/status.html", "Current status")}``; without a verbose name the
    attribute name is used (``"Status"``). ``dashboard_template`` is not a status template.
    """
    meta = getattr(automation_class, "Meta", None)
    if meta is None:
        return {}
    declared = {}
    for klass in reversed(meta.__mro__):
        declared.update(vars(klass))
    templates = {}
    for attribute, value in declared.items():
        if attribute.startswith("_") or not attribute.endswith(TEMPLATE_SUFFIX):
            continue
        if attribute in NOT_STATUS_TEMPLATES:
            continue
        if isinstance(value, str):
            path, verbose_name = value, _humanize(attribute[: -len(TEMPLATE_SUFFIX)])
        elif isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[0], str):
            path, verbose_name = value
        else:
            continue
        templates[attribute] = (path, verbose_name)
    return templates


def receiver_verbose_name(message: str) -> str:
    """Return how a message is offered to page authors: ``"Add participant to webinar"``."""
    return _humanize(message)


def published_receivers(automation_class: type) -> list[str]:
    """Return the messages ``automation_class`` receives, if it sets ``publish_receivers = True``."""
    if getattr(automation_class, "publish_receivers", False) is not True:
        return []
    return sorted(
        name[len(RECEIVER_PREFIX) :]
        for name in dir(automation_class)
        if name.startswith(RECEIVER_PREFIX)
        and len(name) > len(RECEIVER_PREFIX)
        and callable(getattr(automation_class, name, None))
    )


def status_template_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the status templates of all automations, grouped by the automations' verbose names."""
    return _grouped(
        lambda cls: [
            (attribute, str(verbose_name))
            for attribute, (_path, verbose_name) in status_templates(cls).items()
        ]
    )


def receiver_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the published receivers of all automations, grouped by the automations' verbose names."""
    return _grouped(
        lambda cls: [(message, receiver_verbose_name(message)) for message in published_receivers(cls)]
    )


def _grouped(entries_of) -> list[tuple[str, list[tuple[str, str]]]]:
    found = [
        (path, automation_class, entries)
        for path, automation_class in registry.all_automations().items()
        if (entries := entries_of(automation_class))
    ]
    names = [automation_class.get_verbose_name() for _path, automation_class, _entries in found]
    groups = []
    for (path, _class, entries), name in zip(found, names, strict=True):
        # Two automations with one verbose name are told apart by their class paths.
        label = f"{name} ({path})" if names.count(name) > 1 else name
        groups.append((label, [(join_choice(path, key), verbose) for key, verbose in entries]))
    return sorted(groups, key=lambda group: group[0].lower())


def _humanize(name: str) -> str:
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# Shown by plugin forms when nothing can be chosen.
NO_STATUS_TEMPLATES = _("No automation declares a status template (Meta.<name>_template).")
NO_RECEIVERS = _("No automation publishes its receivers (publish_receivers = True).")
