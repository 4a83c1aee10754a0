"""``MigrateAutomation``: a Django migration operation that moves running instances from node to node.

Written in a migration of the project's own app, next to the change of the automation class that
needs it, so that it is reviewed and applied with the deploy::

    from django.db import migrations
    from automations.versions.operations import MigrateAutomation

    class Migration(migrations.Migration):
        dependencies = [("shop", "0011_previous"), ("automations", "0007_class_versions")]
        operations = [
            MigrateAutomation("shop.automations.Onboarding", nodes={"check_stock": "ship"}),
        ]

``manage.py automation_versions`` lists what the pending operations would move (a dry run), and
the deploy check counts the instances they move as mapped. Running it backwards changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations.base import Operation

from . import moving


class MigrateAutomation(Operation):
    """Move the paths of the running instances of ``automation_class`` from old nodes to new ones.

    ``nodes`` maps an old node name to the node the path goes on at. Each instance moved gets an
    audit entry naming the migration and is made due (see :mod:`automations.versions.moving`).
    """

    reversible = True
    reduces_to_sql = False
    elidable = False

    def __init__(self, automation_class: str, nodes: dict[str, str]) -> None:
        self.automation_class = automation_class
        self.nodes = dict(nodes)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__name__, [self.automation_class], {"nodes": self.nodes})

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # no schema: the rows of automations change, not their tables

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        alias = schema_editor.connection.alias
        plan = moving.planned(self.automation_class, self.nodes, using=alias)
        moving.move(plan, by=f"migration {app_label}", using=alias)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        pass  # the instances go on where they were moved to

    def describe(self) -> str:
        moves = ", ".join(f"{old} -> {new}" for old, new in self.nodes.items())
        return f"Move the running instances of {self.automation_class}: {moves}"

    @property
    def migration_name_fragment(self) -> str:
        return "migrate_" + self.automation_class.rpartition(".")[2].lower()


def pending(using: str = DEFAULT_DB_ALIAS) -> list[tuple[str, MigrateAutomation]]:
    """Return ``(migration, operation)`` for every ``MigrateAutomation`` not applied yet, in order."""
    loader = MigrationLoader(connections[using])
    found, seen = [], set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for node in loader.graph.forwards_plan(leaf):
            if node in seen or node in loader.applied_migrations:
                continue
            seen.add(node)
            for operation in loader.graph.nodes[node].operations:
                if isinstance(operation, MigrateAutomation):
                    found.append((f"{node[0]}.{node[1]}", operation))
    return found


def pending_moves(using: str = DEFAULT_DB_ALIAS) -> dict[str, dict[str, tuple[str, str]]]:
    """Return ``{class path: {old node: (new node, migration)}}`` of the pending operations."""
    moves: dict[str, dict[str, tuple[str, str]]] = {}
    for name, operation in pending(using):
        for old, new in operation.nodes.items():
            moves.setdefault(operation.automation_class, {})[old] = (new, name)
    return moves
