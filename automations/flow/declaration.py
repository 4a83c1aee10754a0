"""Collect the nodes of an automation class and validate the declaration.

Runs once per class, when the class is created. Problems are reported with stable ids, the class
and the node named, and a hint; errors are raised at import, and errors and warnings are reported
by ``manage.py check``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from automations.exceptions import AutomationsError
from automations.starting import own_meta_option, start_problems

from .control import If, Join, Split
from .nodes import Declaring, Node
from .references import reference_name
from .repeat import Repeat
from .versioning import is_obsolete, versioning_problems

RESERVED_NAMES = frozenset(
    {
        "broadcast_message", "create_on_message", "data", "dispatch_message", "finished",
        "get_automation_class_name", "get_key", "get_model_instance", "get_verbose_name",
        "get_verbose_name_plural", "id", "kill", "model_class", "nice", "on", "on_signal", "run",
        "satisfies_data_requirements", "save", "send_message", "unique",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an automation declaration."""

    id: str
    msg: str
    hint: str
    level: str = "error"  # or "warning": reported by the system checks, never raised

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        return f"{self.id}: {self.msg} HINT: {self.hint}"


class AutomationDeclarationError(AutomationsError, TypeError):
    """An automation class is declared wrongly; the message names the class, the node and the fix."""


def collect_nodes(cls: type[Declaring]) -> dict[str, Node]:
    """Return the nodes of ``cls`` in declaration order, base classes' nodes first.

    A node redefined in a subclass keeps its base's position; a node replaced by something that is
    not a node (e.g. a method of the same name) is no longer a node. Every node is copied onto
    ``cls`` so that each class resolves its own successors.
    """
    nodes: dict[str, Node] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Node):
                nodes[name] = value
            elif name in nodes:
                del nodes[name]
    declared = {}
    for name, node in nodes.items():
        declared[name] = node._declare(cls, name)
        setattr(cls, name, declared[name])
    return declared


def link_successors(cls: type[Declaring]) -> None:
    """Set each node's default successor: its ``.Next()`` or the next declared node.

    Obsolete nodes are left out of the order: no node goes on to one by default.
    """
    names = [name for name, node in cls._nodes.items() if not is_obsolete(node)]
    for position, name in enumerate(names):
        node = cls._nodes[name]
        following = names[position + 1] if position + 1 < len(names) else None
        node._successor = reference_name(node._next) if node._next is not None else following
    for node in cls._nodes.values():
        if is_obsolete(node):
            node._successor = node.successors()[0]


def link_joins(cls: type[Declaring]) -> None:
    """Give every ``Split`` of a valid declaration the name of the ``Join`` where its paths meet."""
    for node in cls._nodes.values():
        if isinstance(node, Split):
            node.matching_join = matching_join(cls, node)


def matching_join(cls: type[Declaring], split: Split) -> str | None:
    """Return the nearest ``Join`` that every path of ``split`` reaches, or ``None``."""
    if not split._paths:
        return None
    distances = [_join_distances(cls, reference_name(path)) for path in split._paths]
    common = set.intersection(*(set(found) for found in distances))
    if not common:
        return None
    return min(common, key=lambda join: (max(found[join] for found in distances), join))


def _join_distances(cls: type[Declaring], start: str) -> dict[str, int]:
    """Return ``{join name: nodes to go}`` for every ``Join`` reachable from ``start``."""
    distances: dict[str, int] = {}
    seen, pending = {start}, deque([(start, 0)])
    while pending:
        name, distance = pending.popleft()
        node = cls._nodes.get(name)
        if node is None:
            continue
        if isinstance(node, Join):
            distances.setdefault(name, distance)
        for successor in node.successors():
            if successor not in seen:
                seen.add(successor)
                pending.append((successor, distance + 1))
    return distances


def find_problems(cls: type[Declaring], base_attributes: Iterable[str]) -> list[Problem]:
    """Return every problem of the declaration of ``cls``."""
    problems = []
    for name, node in cls._nodes.items():
        where = f"{cls.__name__}.{name}"
        if name.startswith("_") or name in RESERVED_NAMES or name in base_attributes:
            problems.append(
                Problem(
                    "automations.E002",
                    f"{where}: node name '{name}' is reserved.",
                    "Rename the node; names starting with '_' and the attributes of flow.Automation "
                    "are reserved.",
                )
            )
        for modifier, value in node.references():
            target = reference_name(value)
            if target not in cls._nodes:
                problems.append(
                    Problem(
                        "automations.E001",
                        f"{where}: {modifier} refers to unknown node '{target}'.",
                        f"Declare a node named '{target}' in {cls.__name__} or fix the reference.",
                    )
                )
        for modifier, target in node.code_references():
            if target not in cls._nodes and not hasattr(cls, target):
                problems.append(
                    Problem(
                        "automations.E001",
                        f"{where}: {modifier} refers to unknown node or method '{target}'.",
                        f"Define '{target}' in {cls.__name__} or fix the reference; a base class that "
                        f"leaves it to subclasses declares Meta.abstract = True.",
                    )
                )
        if isinstance(node, If) and not node._has_then:
            problems.append(
                Problem("automations.E003", f"{where}: If() has no .Then().", "Add .Then(node or callable).")
            )
        if node._deadline is not None:
            problems.extend(_deadline_problems(where, node))
    if not any(p.id == "automations.E001" for p in problems):
        problems.extend(_split_problems(cls))
        problems.extend(Problem(*problem) for problem in versioning_problems(cls))
    problems.extend(Problem(*problem) for problem in start_problems(cls))
    problems.extend(_instance_limit_problems(cls))
    return problems


def _deadline_problems(where: str, node: Node) -> list[Problem]:
    """Return the problem of a ``.Deadline()`` that can never pass (E006)."""
    if isinstance(node, Join):
        return [
            Problem(
                "automations.E006",
                f"{where}: a Join() takes no .Deadline(): it waits for the paths of its Split, and "
                f"a deadline would not end that wait.",
                "Put the deadline on the nodes the paths wait at (a Form, an AsSoonAs(), a "
                "SubAutomation), e.g. .Deadline(days=2, then=this.remind).",
            )
        ]
    if node.may_wait():
        return []
    kind = type(node).__name__
    return [
        Problem(
            "automations.E006",
            f"{where}: .Deadline() has no effect on this {kind}(): the node never waits.",
            "Put the deadline on a node that waits (a Form, a SubAutomation, an Execute with .Retry(), "
            "a node with AsSoonAs(), AfterWaitingFor() or AfterWaitingUntil()), or remove it.",
        )
    ]


def _instance_limit_problems(cls: type[Declaring]) -> list[Problem]:
    """Return the problems of ``Meta.concurrency`` and ``Meta.concurrency_key`` (E051, E052)."""
    name = cls.__name__
    count = own_meta_option(cls, "concurrency")
    key = own_meta_option(cls, "concurrency_key")
    problems = []
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        problems.append(
            Problem(
                "automations.E051",
                f"{name}.Meta.concurrency is {count!r}, not a whole number of at least 1.",
                "Say how many instances of the class may be active at once, e.g. concurrency = 3.",
            )
        )
    if key is not None and (not isinstance(key, str) or not key):
        problems.append(
            Problem(
                "automations.E052",
                f"{name}.Meta.concurrency_key is {key!r}, not the name of a key of the instance's data.",
                'Name a key of the data, e.g. concurrency_key = "customer_id".',
            )
        )
    elif key is not None and count is None:
        problems.append(
            Problem(
                "automations.E052",
                f"{name}.Meta.concurrency_key is given without Meta.concurrency.",
                "Add Meta.concurrency, the number of instances per value of the key, or remove the key.",
            )
        )
    return problems


def _split_problems(cls: type[Declaring]) -> list[Problem]:
    problems = []
    for name, node in cls._nodes.items():
        if not isinstance(node, Split):
            continue
        if not node._paths:
            where, modifier = f"{cls.__name__}.{name}: {type(node).__name__}()", node.path_modifier
            problems.append(Problem("automations.E004", f"{where} has no paths.", f"Add {modifier}."))
        elif matching_join(cls, node) is None and _every_path_repeats(cls, node):
            problems.append(
                Problem(
                    "automations.W004",
                    f"{cls.__name__}.{name}: the paths of this Split() never reach a Join(): each of them "
                    f"ends in a Repeat(), so they run side by side and are never waited for.",
                    "Fine for paths meant to recur on their own; to go on once every path is done, let "
                    "them continue to one Join(). Silence with SILENCED_SYSTEM_CHECKS "
                    "= ['automations.W004'].",
                    level="warning",
                )
            )
        elif matching_join(cls, node) is None:
            problems.append(
                Problem(
                    "automations.E004",
                    f"{cls.__name__}.{name}: the paths of this Split() never reach a common Join().",
                    "Let every path of the Split continue to the same Join() node.",
                )
            )
    return problems


def _every_path_repeats(cls: type[Declaring], split: Split) -> bool:
    """Return whether every path of ``split`` runs into a ``Repeat``: paths that recur for good."""
    return all(
        any(isinstance(cls._nodes.get(name), Repeat) for name in _reachable(cls, reference_name(path)))
        for path in split._paths
    )


def _reachable(cls: type[Declaring], start: str) -> set[str]:
    """Return the names of the nodes a path starting at ``start`` may visit."""
    seen, pending = {start}, [start]
    while pending:
        node = cls._nodes.get(pending.pop())
        for successor in node.successors() if node is not None else ():
            if successor not in seen:
                seen.add(successor)
                pending.append(successor)
    return seen
