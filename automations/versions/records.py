"""The versions of each automation class, stored once each, and the one every new instance starts under.

A class's version is its ``Meta.version`` with the fingerprint of its shape (:mod:`.shape`); each
is an :class:`~automations.models.AutomationVersion` row, written by the first process that
starts an instance under it. A process remembers the rows it has seen committed, so that
creating an instance costs no extra statement after the first of its class; a flushed database
(``post_migrate``, sent after ``flush``) makes it forget them.
"""

from __future__ import annotations

import weakref
from typing import Any

from django.db import IntegrityError, transaction

from automations import registry
from automations.models import AutomationVersion

from .shape import fingerprint, shape_of

_shapes: weakref.WeakKeyDictionary[type, tuple[dict[str, Any], str]] = weakref.WeakKeyDictionary()
_ids: dict[tuple[str, int, str], int] = {}  # (class path, label, fingerprint) -> id, committed rows only
_labels: dict[int, int] = {}  # id -> label


def shape_and_fingerprint(cls: type[Any]) -> tuple[dict[str, Any], str]:
    """Return the shape of the declared class ``cls`` and its fingerprint (computed once per class)."""
    known = _shapes.get(cls)
    if known is None:
        shape = shape_of(cls)
        known = _shapes[cls] = (shape, fingerprint(shape))
    return known


def key_of(cls: type[Any]) -> tuple[str, int, str]:
    """Return ``(class path, Meta.version, fingerprint)``: what tells the versions of ``cls`` apart."""
    return registry.class_path(cls), cls._version, shape_and_fingerprint(cls)[1]


def current_version_id(cls: type[Any]) -> int:
    """Return the id of the version row of ``cls`` as declared now, writing the row if it is new."""
    key = key_of(cls)
    known = _ids.get(key)
    if known is not None:
        return known
    path, label, print_ = key
    row = AutomationVersion.objects.filter(automation_class=path, label=label, fingerprint=print_).first()
    if row is None:
        shape = shape_and_fingerprint(cls)[0]
        try:
            with transaction.atomic():
                row = AutomationVersion.objects.create(
                    automation_class=path, label=label, fingerprint=print_, shape=shape
                )
        except IntegrityError:  # another process wrote it just now
            row = AutomationVersion.objects.get(automation_class=path, label=label, fingerprint=print_)
    pk = row.pk
    # Remembered once committed: a row of a transaction that rolls back must not be used again.
    transaction.on_commit(lambda: _remember(key, pk, label))
    return pk


def _remember(key: tuple[str, int, str], pk: int, label: int) -> None:
    _ids[key] = pk
    _labels[pk] = label


def label_of(version_id: int | None) -> int:
    """Return the ``Meta.version`` of the version row ``version_id`` (``1`` for an instance without one)."""
    if version_id is None:
        return 1
    label = _labels.get(version_id)
    if label is None:
        label = AutomationVersion.objects.filter(pk=version_id).values_list("label", flat=True).first() or 1
        _labels[version_id] = label
    return label


def forget(**kwargs: Any) -> None:
    """Forget the rows seen (connected to ``post_migrate``: ``flush`` may have deleted them)."""
    _ids.clear()
    _labels.clear()
