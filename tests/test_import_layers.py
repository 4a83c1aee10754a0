"""The import graph of ``automations`` and ``consumers`` runs one way, in the layers of docs/architecture.md.

Every import counts, at module level and inside functions. A module may import modules of its own
layer and of the layers below it, never above; and no modules may import each other in a circle,
within a layer either. A new module must be given a layer here and a line in docs/architecture.md.
"""

import ast
import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("automations", "consumers")

# Bottom first. A pattern ending in ".*" also matches the package itself.
LAYERS = [
    (
        "foundation",
        [
            "automations",
            "automations.exceptions",
            "automations.jsonlimits",
            "automations.logsafe",
            "automations.outcomes",
            "automations.publisher",
            "automations.registry",
            "automations.settings",
            "automations.signals",
            "automations.stepping",
        ],
    ),
    (
        "declaration",
        [
            "automations.flow.control",
            "automations.flow.declaration",
            "automations.flow.discovery",
            "automations.flow.execute",
            "automations.flow.forms",
            "automations.flow.messages",
            "automations.flow.nodes",
            "automations.flow.references",
            "automations.flow.repeat",
            "automations.permissions",
            "automations.receivers",
        ],
    ),
    (
        "persistence",
        ["automations.events", "automations.models", "automations.wakeups", "automations.worklist"],
    ),
    ("engine", ["automations.engine.*"]),
    ("run time", ["automations.instances"]),
    ("facade", ["automations.flow", "automations.flow.automation"]),
    (
        "worker and web",
        [
            "automations.admin",
            "automations.apps",
            "automations.checks",
            "automations.cms_automations.*",
            "automations.diagram.*",
            "automations.event_resolution",
            "automations.inbox",
            "automations.instance_actions",
            "automations.management.*",
            "automations.page_views",
            "automations.task_inbox",
            "automations.task_list_updates",
            "automations.templatetags.*",
            "automations.testing.*",
            "automations.upgrade.*",
            "automations.urls",
            "automations.views.*",
            "consumers.*",
        ],
    ),
]


def module_files(root: Path) -> dict[str, tuple[Path, bool]]:
    """Return ``{dotted module name: (file, is_package)}`` for the packages, migrations left out."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join(parts)] = (path, is_package)
    return found


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Return every dotted name ``tree`` imports, anywhere in the module (functions included)."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Return ``{module: modules of the packages it imports}``."""
    modules = module_files(root)
    graph = {}
    for module, (path, is_package) in modules.items():
        targets = set()
        for name in imported_names(ast.parse(path.read_text(encoding="utf-8")), module, is_package):
            while name and name not in modules:  # ``from automations import flow`` -> automations.flow
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):  # its own packages load first
                targets.add(name)
        graph[module] = targets
    return graph


def layer_of(module: str, layers) -> int | None:
    for index, (_, patterns) in enumerate(layers):
        for pattern in patterns:
            whole_package = module == pattern.removesuffix(".*")
            if module == pattern or whole_package or fnmatch.fnmatchcase(module, pattern):
                return index
    return None


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def problems(graph: dict[str, set[str]], layers) -> list[str]:
    """Return what breaks the plan: modules without a layer, imports upwards, circles."""
    found = []
    for module in sorted(graph):
        if layer_of(module, layers) is None:
            found.append(f"{module} has no layer")
    for module, targets in sorted(graph.items()):
        own = layer_of(module, layers)
        for target in sorted(targets):
            theirs = layer_of(target, layers)
            if own is not None and theirs is not None and theirs > own:
                found.append(
                    f"{module} ({layers[own][0]}) imports {target} ({layers[theirs][0]}), a layer above it"
                )
    found.extend("circle: " + " -> ".join(group) for group in circles(graph))
    return found


def test_the_import_graph_follows_the_layers():
    assert problems(import_graph(), LAYERS) == []


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "automations.engine" in graph["automations.instances"]
    assert "consumers.scheduler" in graph["automations.management.commands.automation_worker"]


def test_every_module_has_a_line_in_the_architecture_document():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [module for module in import_graph() if f"`{module}`" not in text]
    assert missing == []


SMALL_LAYERS = [("low", ["a", "a.*"]), ("high", ["b"])]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"a.x"}, "a.x": set(), "b": {"a"}}, []),
        ({"a": {"b"}, "b": set()}, ["a (low) imports b (high), a layer above it"]),
        ({"a": {"a.x"}, "a.x": {"a"}, "b": set()}, ["circle: a -> a.x"]),
        ({"a": set(), "c": set()}, ["c has no layer"]),
    ],
)
def test_the_checker_finds_upward_imports_circles_and_unplaced_modules(graph, expected):
    assert problems(graph, SMALL_LAYERS) == expected


def test_the_graph_reads_relative_imports_and_imports_in_functions(tmp_path):
    package = tmp_path / "automations"
    (package / "sub").mkdir(parents=True)
    (tmp_path / "consumers").mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def late():\n    from automations import high\n")
    (package / "high.py").write_text("from .sub import leaf\n")
    (package / "sub" / "__init__.py").write_text("from ..low import late\n")
    (package / "sub" / "leaf.py").write_text("import json\n")
    assert import_graph(tmp_path) == {
        "automations": set(),
        "automations.high": {"automations.sub", "automations.sub.leaf"},
        "automations.low": {"automations.high"},
        "automations.sub": {"automations.low"},
        "automations.sub.leaf": set(),
    }
    layers = [
        ("low", ["automations", "automations.low", "automations.sub.*"]),
        ("high", ["automations.high"]),
    ]
    assert problems(import_graph(tmp_path), layers) == [
        "automations.low (low) imports automations.high (high), a layer above it",
        "circle: automations.high -> automations.low -> automations.sub",
    ]
