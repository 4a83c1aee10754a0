"""The deploy check: the running instances compared with the classes as declared now.

For every open task of every instance that has not stopped, :func:`compare` asks whether the
path can go on under the current declaration of its class:

- ``stranded``: it stands on a node the class neither declares nor renamed, or the class is not
  declared at all. The step holds such an instance (``needs_migration``).
- ``path changed``: it is inside a ``Split`` whose paths (or the ``Join`` they meet at) differ from
  those of the version the instance started under; it goes on as declared now, which may not be
  what the change meant for it. A change named in ``Meta.reviewed_changes`` is reported as
  reviewed.
- ``renamed``, ``obsolete``: it stands on a node the class declares renamed or obsolete; its next
  step moves it.
- ``migration``: a ``MigrateAutomation`` operation not applied yet moves it (``moves``, from
  :func:`automations.versions.operations.pending_moves`).

Findings of the first two kinds fail the check (``manage.py automation_versions --check``, the
system check ``automations.W040``/``E040``); the others are reported only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from automations import registry
from automations.engine.paths import frames
from automations.models import AutomationModel, AutomationTaskModel, AutomationVersion, Status

from .records import key_of, shape_and_fingerprint
from .shape import OBSOLETE, Shape, changed_splits

STRANDED, PATH_CHANGED, RENAMED, OBSOLETE_NODE = "stranded", "path changed", "renamed", "obsolete"
MIGRATED = "migration"  # a MigrateAutomation not applied yet moves them
FAILING = (STRANDED, PATH_CHANGED)


@dataclass
class Finding:
    """Instances of one class on one node that one change affects."""

    automation_class: str
    node: str
    kind: str  # STRANDED, PATH_CHANGED, RENAMED or OBSOLETE_NODE
    instances: set[int] = field(default_factory=set)
    target: str = ""  # where a renamed or obsolete node, or a migration, sends them
    migration: str = ""  # the MigrateAutomation's migration
    before: list[str] = field(default_factory=list)  # a changed Split's paths, then and now
    now: list[str] = field(default_factory=list)
    reviewed: str | None = None  # the reason given in Meta.reviewed_changes
    class_missing: bool = False

    @property
    def count(self) -> int:
        return len(self.instances)

    @property
    def fails(self) -> bool:
        """Whether this finding fails the deploy check."""
        return self.kind in FAILING and self.reviewed is None

    @property
    def where(self) -> str:
        return f"{self.automation_class.rpartition('.')[2]}.{self.node}"

    def describe(self) -> str:
        """Return one sentence for people: what is affected, how many, and what to do."""
        values = {"where": self.where, "count": self.count, "target": self.target,
                  "before": ", ".join(self.before) or "-", "now": ", ".join(self.now) or "-",
                  "migration": self.migration}  # fmt: skip
        if self.class_missing:
            text = ngettext(
                "%(where)s: %(count)d instance stands on this node of a class that is not declared any more.",
                "%(where)s: %(count)d instances stand on this node of a class that is not declared any more.",
                self.count,
            )
        elif self.kind == STRANDED:
            text = ngettext(
                "%(where)s: %(count)d instance stands on this node, which the class does not declare any "
                "more. Declare it renamed (Meta.renamed_nodes) or obsolete (flow.Obsolete), or move the "
                "instance (MigrateAutomation).",
                "%(where)s: %(count)d instances stand on this node, which the class does not declare any "
                "more. Declare it renamed (Meta.renamed_nodes) or obsolete (flow.Obsolete), or move the "
                "instances (MigrateAutomation).",
                self.count,
            )
        elif self.kind == PATH_CHANGED:
            text = ngettext(
                "%(where)s: the paths of this Split changed (then: %(before)s; now: %(now)s) while "
                "%(count)d instance is inside it.",
                "%(where)s: the paths of this Split changed (then: %(before)s; now: %(now)s) while "
                "%(count)d instances are inside it.",
                self.count,
            )
        elif self.kind == MIGRATED:
            text = ngettext(
                "%(where)s: %(count)d instance is moved to %(target)s by the migration %(migration)s.",
                "%(where)s: %(count)d instances are moved to %(target)s by the migration %(migration)s.",
                self.count,
            )
        elif self.kind == RENAMED:
            text = ngettext(
                "%(where)s: %(count)d instance moves to %(target)s (renamed).",
                "%(where)s: %(count)d instances move to %(target)s (renamed).",
                self.count,
            )
        else:
            text = ngettext(
                "%(where)s: %(count)d instance goes on at %(target)s (obsolete node).",
                "%(where)s: %(count)d instances go on at %(target)s (obsolete node).",
                self.count,
            )
        text %= values
        if self.reviewed is not None:
            text += " " + _("Reviewed: %(reason)s") % {"reason": self.reviewed or "-"}
        return text


def compare(
    automation_class: str | None = None, moves: dict[str, dict[str, tuple[str, str]]] | None = None
) -> list[Finding]:
    """Return the findings for the instances that have not stopped (of one class path, if given).

    ``moves`` are the pending migrations' moves: ``{class path: {old node: (new node, migration)}}``.
    Failing findings come first, then by class and node.
    """
    moves = moves or {}
    tasks = AutomationTaskModel.objects.filter(finished=None, automation__status__in=Status.alive())
    if automation_class is not None:
        tasks = tasks.filter(automation__automation_class=automation_class)
    rows = tasks.values_list(
        "automation_id", "automation__automation_class", "automation__version_id", "status", "path"
    )
    shapes: dict[int, Shape] = {}
    current: dict[str, int | None] = {}
    findings: dict[tuple[str, str, str], Finding] = {}
    for automation_id, path, version_id, node, task_path in rows.iterator(chunk_size=2000):
        if node in moves.get(path, {}):
            target, migration = moves[path][node]
            finding = _finding(findings, path, node, MIGRATED, target=target, migration=migration)
            finding.instances.add(automation_id)
            continue
        cls = _position_finding(findings, path, node, automation_id)
        if cls is None:
            continue
        if path not in current:
            current[path] = _current_id(cls)
        if task_path and version_id is not None and version_id != current[path]:
            old = shapes.get(version_id)
            if old is None:
                old = shapes[version_id] = Shape.of(_stored_shape(version_id))
            _split_findings(findings, cls, path, old, task_path, automation_id)
    return _in_order(findings)


def compare_positions(positions: Iterable[tuple[int, str, str]]) -> list[Finding]:
    """Return the findings for open positions ``(instance id, class path, node)``, by their nodes alone.

    For instances that are not rows of today yet (``automation_upgrade_check`` on a database of
    django-automations 0.9): they have no version, so no Split can have changed under them.
    """
    findings: dict[tuple[str, str, str], Finding] = {}
    for automation_id, path, node in positions:
        _position_finding(findings, path, node, automation_id)
    return _in_order(findings)


def failing_summary(findings: list[Finding]) -> str | None:
    """Return the sentence that ends a report whose findings fail the check, ``None`` if none does."""
    failing = [finding for finding in findings if finding.fails]
    if not failing:
        return None
    count = len({i for finding in failing for i in finding.instances})
    return (
        f"{count} running instance(s) would be stranded or their path changed under them "
        f"({len(failing)} node(s)). See docs/versions.md."
    )


def _in_order(findings: dict[tuple[str, str, str], Finding]) -> list[Finding]:
    """Failing findings first, then by class and node."""
    return sorted(findings.values(), key=lambda f: (not f.fails, f.automation_class, f.node, f.kind))


def _position_finding(findings: dict, path: str, node: str, automation_id: int) -> type[Any] | None:
    """Add the finding of one open task by its node; return its class (``None``: not declared)."""
    try:
        cls = registry.get(path)
    except registry.UnknownAutomationError:
        _finding(findings, path, node, STRANDED, class_missing=True).instances.add(automation_id)
        return None
    _node_finding(findings, cls, path, node, automation_id)
    return cls


def _finding(findings: dict, path: str, node: str, kind: str, **values: Any) -> Finding:
    key = (path, node, kind)
    if key not in findings:
        findings[key] = Finding(path, node, kind, **values)
    return findings[key]


def _node_finding(findings: dict, cls: type[Any], path: str, node: str, automation_id: int) -> None:
    declared = cls._nodes.get(node)
    if declared is not None:
        if type(declared).__name__ == OBSOLETE:
            target = declared.successors()[0]
            _finding(findings, path, node, OBSOLETE_NODE, target=target).instances.add(automation_id)
        return
    new = cls._renamed_nodes.get(node)
    if new is not None and new in cls._nodes:
        _finding(findings, path, node, RENAMED, target=new).instances.add(automation_id)
    else:
        _finding(findings, path, node, STRANDED).instances.add(automation_id)


def _split_findings(
    findings: dict, cls: type[Any], path: str, old: Shape, task_path: str, automation_id: int
) -> None:
    new = Shape.of(shape_and_fingerprint(cls)[0])
    renamed, reviewed = cls._renamed_nodes, cls._reviewed_changes
    for frame in frames(task_path):
        if frame.join is None:
            continue
        join = renamed.get(frame.join, frame.join)
        for split in changed_splits(old, new, renamed, frame.join):
            finding = _finding(
                findings, path, split, PATH_CHANGED,
                before=sorted(old.splits_meeting_at(frame.join).get(split, [])),
                now=sorted(new.splits_meeting_at(join).get(split, [])),
                reviewed=reviewed.get(split, reviewed.get(join)),
            )  # fmt: skip
            finding.instances.add(automation_id)


def _current_id(cls: type[Any]) -> int | None:
    """Return the id of the stored version of ``cls`` as declared now, ``None`` if none is stored."""
    path, label, print_ = key_of(cls)
    row = AutomationVersion.objects.filter(automation_class=path, label=label, fingerprint=print_).first()
    return row.pk if row is not None else None


def _stored_shape(version_id: int) -> dict[str, Any]:
    row = AutomationVersion.objects.filter(pk=version_id).values_list("shape", flat=True).first()
    return row if isinstance(row, dict) else {}


def versions_in_use(automation_class: str | None = None) -> list[dict[str, Any]]:
    """Return the stored versions with the number of their instances that have not stopped.

    Each: ``{"version": AutomationVersion, "running": n, "current": bool}``, by class, newest first.
    """
    alive = AutomationModel.objects.filter(status__in=Status.alive())
    rows = AutomationVersion.objects.order_by("automation_class", "-created", "-pk")
    if automation_class is not None:
        alive, rows = (
            alive.filter(automation_class=automation_class),
            rows.filter(automation_class=automation_class),
        )
    counts: dict[int | None, int] = defaultdict(int)
    for version_id in alive.values_list("version_id", flat=True).iterator(chunk_size=5000):
        counts[version_id] += 1
    found = []
    for row in rows:
        try:
            current = key_of(registry.get(row.automation_class)) == (
                row.automation_class,
                row.label,
                row.fingerprint,
            )
        except registry.UnknownAutomationError:
            current = False
        found.append({"version": row, "running": counts.get(row.pk, 0), "current": current})
    return found
