"""Short, readable names for what a declaration holds: references, callables, durations, moments."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from automations.flow.references import Reference


def describe_value(value) -> str:
    """Return how a diagram names ``value``: a reference or method by its name, a lambda generically."""
    if isinstance(value, Reference):
        return value.name
    if isinstance(value, str):
        return value[5:] if value.startswith("self.") else value
    name = getattr(value, "__name__", None)
    if callable(value) and name:
        return _("a function") if name == "<lambda>" else name
    if callable(value):
        return type(value).__name__
    return str(value)


def describe_duration(value) -> str:
    """Return ``value`` (a timedelta, seconds, or something that computes one) as ``3 days 2 h``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta):
        return describe_value(value)
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(count)d day", "%(count)d days", days) % {"count": days})
    if hours:
        parts.append(_("%(count)d h") % {"count": hours})
    if minutes:
        parts.append(_("%(count)d min") % {"count": minutes})
    if seconds or not parts:
        parts.append(_("%(count)d s") % {"count": seconds})
    return " ".join(parts)


def describe_moment(value) -> str:
    """Return ``value`` (a datetime, or something that computes one) as ``2030-01-07 09:00``."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return describe_value(value)
