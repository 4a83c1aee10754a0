"""One ``AutomationModel`` object per instance and thread, shared by its ``Automation`` objects.

A test or a view often keeps the object it created (``journey = Journey()``) while a sweep, a
message or a form advances the same instance through another object. Binding every object of an
instance to one row object means ``journey.data`` shows what the others did, without a query.
"""

from __future__ import annotations

import threading
import weakref

_local = threading.local()
REFRESHED_FIELDS = ("automation_class", "data", "finished", "wake_at", "error", "model_refs")


def _rows() -> weakref.WeakValueDictionary:
    rows = getattr(_local, "rows", None)
    if rows is None:
        rows = _local.rows = weakref.WeakValueDictionary()
    return rows


def shared_row(model):
    """Return this thread's row object for ``model.pk``, updated with the fields ``model`` has loaded.

    While the instance is inside a step in this thread, the step's row object is returned
    unchanged: its nodes' changes are not saved yet and must not be replaced by older values.
    """
    from automations import engine

    if model.pk is None:
        return model
    rows = _rows()
    shared = rows.get(model.pk)
    # The key tells a recycled id (a deleted row, a rolled-back test) from the same instance.
    if shared is None or shared is model or shared.__dict__.get("key") != model.__dict__.get("key"):
        rows[model.pk] = model
        return model
    if not engine.in_step(model.pk):
        for name in REFRESHED_FIELDS:
            if name in model.__dict__:
                shared.__dict__[name] = model.__dict__[name]
    return shared


def forget(model) -> None:
    """Stop sharing ``model`` (after it was deleted)."""
    _rows().pop(model.pk, None)
