"""Who stands in for whom now: the substitutes of :class:`~automations.models.Delegation` rows.

While a delegation runs (``starts <= now < ends``) its substitute acts for the user who is away,
for the tasks assigned to that user personally (by a form's ``.User(...)``, a claim or a
reassignment): they appear in the substitute's inbox and the substitute may process them. A
substitute does not inherit the absent user's groups or permissions, nor their own substitutes.

This module sits below the models (:mod:`automations.permissions` asks it), so it reaches the
model through the app registry when called.
"""

from __future__ import annotations

from django.apps import apps
from django.utils import timezone


def _running(now=None):
    model = apps.get_model("automations", "Delegation")
    now = now or timezone.now()
    return model._default_manager.filter(starts__lte=now, ends__gt=now)


def represented_by(user, now=None) -> set:
    """Return the ids of the users ``user`` stands in for now (empty for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return set()
    return set(_running(now).filter(substitute=user.pk).values_list("user_id", flat=True))


def substitutes_of(user_ids, now=None) -> set:
    """Return the ids of the users standing in now for any of ``user_ids``."""
    user_ids = [pk for pk in user_ids if pk is not None]
    if not user_ids:
        return set()
    return set(_running(now).filter(user__in=user_ids).values_list("substitute_id", flat=True))
