"""The import graph of ``automations`` and ``consumers`` runs one way, in the layers of docs/architecture.md.

Every import counts: at module level, inside functions, and the packages Python loads on the way
(``import a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, with everything they import).
A module may import modules of its own layer and of the layers below it, never above; no modules
may import each other in a circle, within a layer either. An import inside a function is kept for
what must not load with the module (an optional dependency, a module that needs the models while
Django is still loading them) and says why in a comment. Every module imports as the first import
of a fresh process. A new module must be given a layer here and a line in docs/architecture.md.
"""

import ast
import fnmatch
import importlib.util
import io
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import NamedTuple

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
            "automations.history",
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
            "automations.delegation",
            "automations.flow.control",
            "automations.flow.deadlines",
            "automations.flow.declaration",
            "automations.flow.discovery",
            "automations.flow.execute",
            "automations.flow.foreach",
            "automations.flow.subautomation",
            "automations.flow.limits",
            "automations.flow.forms",
            "automations.flow.nodes",
            "automations.flow.references",
            "automations.flow.repeat",
            "automations.flow.retrying",
            "automations.permissions",
            "automations.receivers",
            "automations.starting",
            "automations.flow.versioning",
            "automations.versions.shape",
        ],
    ),
    (
        "persistence",
        [
            "automations.events",
            "automations.events.publishing",
            "automations.events.confirming",
            "automations.events.schema",
            "automations.events.wakes",
            "automations.events.wakeups",
            "automations.lifecycle",
            "automations.models",
            "automations.tasklist",
            "automations.tasklist.queries",
            "automations.versions",
            "automations.versions.moving",
            "automations.versions.operations",
            "automations.versions.records",
            "automations.versions.retry",
        ],
    ),
    ("engine", ["automations.engine.*", "automations.versions.report"]),
    ("run time", ["automations.instances", "automations.subautomations"]),
    ("facade", ["automations.flow", "automations.flow.automation"]),
    (
        "events and worker",
        ["automations.events.inbox", "automations.events.resolution", "automations.worker.*"],
    ),
    (
        "web",
        [
            "automations.admin",
            "automations.api",
            "automations.api.describe",
            "automations.api.form_schema",
            "automations.api.socket_auth",
            "automations.apps",
            "automations.checks",
            "automations.diagram.*",
            "automations.handover",
            "automations.notifications.*",
            "automations.instance_actions",
            "automations.page_views",
            "automations.tasklist.inbox",
            "automations.tasklist.live",
            "automations.templatetags.*",
            "automations.urls",
            "automations.views.*",
            "consumers",
            "consumers.console",
            "consumers.diagram",
            "consumers.instance_page",
            "consumers.login",
            "consumers.origins",
            "consumers.scheduler",
            "consumers.task_list",
            "consumers.unknown",
        ],
    ),
    (
        "integrations",
        [
            "automations.api.base",
            "automations.api.handover",
            "automations.api.instances",
            "automations.api.serializers",
            "automations.api.start",
            "automations.api.tasks",
            "automations.api.token",
            "automations.api.urls",
            "automations.cms_automations.*",
            "automations.testing.*",
            "automations.upgrade.*",
        ],
    ),
    ("commands", ["automations.management.*"]),
]

# What the checks find today in modules that are being rewritten at the moment, and so are not
# changed here. Each line goes when its module is fixed; the tests compare whole lists, so a line
# left behind fails them as surely as a new problem.
LAYER_PROBLEMS_FOR_NOW: list[str] = []
# Imports inside functions of those modules that give no reason: each is to move to the top of its
# module, or to say why it cannot.
FUNCTION_IMPORTS_FOR_NOW: list[tuple[str, str]] = []


# -- reading the imports --------------------------------------------------------------------------


class Import(NamedTuple):
    name: str  # a dotted name the statement imports: "a.b" for ``from a import b``
    statement: str  # what it imports from, as written: "a", ".b", "a.b"
    line: int
    in_function: bool
    explained: bool  # a comment on the statement, or on the line above its group of imports


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


LINTER_DIRECTIVE = re.compile(
    r"^(noqa(:\s*[A-Z0-9, ]+)?|type:\s*ignore(\[[\w, -]+\])?|fmt:\s*\w+|pragma:\s*no cover)"
)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def reasons(source: str) -> dict[int, str]:
    """Return ``{line: comment}`` for the comments of ``source`` that say something to a reader.

    A comment that only talks to a linter (``# noqa: F401``) says nothing; ``# noqa: F401  (gives
    the models their sweep)`` does.
    """
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = LINTER_DIRECTIVE.sub("", token.string.lstrip("#").strip())
            if re.search(r"[A-Za-z]", text):
                found[token.start[0]] = text
    return found


def imports_in(source: str, module: str, is_package: bool) -> list[Import]:
    """Return every import of a module's ``source``, with where it is and whether it says why."""
    notes = reasons(source)
    lines = source.splitlines()
    package = module if is_package else module.rpartition(".")[0]
    found = []

    def written_source(node) -> str:
        if isinstance(node, ast.Import):
            return ", ".join(alias.name for alias in node.names)
        return "." * node.level + (node.module or "")

    def names(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module
        return [source, *(f"{source}.{alias.name}" for alias in node.names)]

    def explained(node, statements) -> bool:
        if any(line in notes for line in range(node.lineno, node.end_lineno + 1)):
            return True
        first = node  # a comment above a group of imports (blank lines between them allowed) covers them all
        for statement in reversed(statements[: statements.index(node)]):
            if not isinstance(statement, ast.Import | ast.ImportFrom):
                break
            first = statement
        above = first.lineno - 1
        return above in notes and lines[above - 1].lstrip().startswith("#")

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                statements = next(
                    value for value in vars(node).values() if isinstance(value, list) and child in value
                )
                is_explained = explained(child, statements)
                for name in names(child):
                    found.append(Import(name, written_source(child), child.lineno, in_function, is_explained))
            visit(child, in_function or isinstance(child, FUNCTIONS))

    visit(ast.parse(source), False)
    return found


def loaded(name: str, importer: str, modules) -> set[str]:
    """Return the modules of the packages that importing ``name`` from ``importer`` loads.

    ``import a.b.c`` loads ``a``, ``a.b`` and ``a.b.c``; ``from a.b import c`` also ``a.b.c`` if that
    is a module. The importer's own packages are left out: they are loaded before it.
    """
    while name and name not in modules:  # ``from automations import flow`` -> automations.flow
        name = name.rpartition(".")[0]
    parts = name.split(".") if name else []
    own_packages = {importer.rsplit(".", depth)[0] for depth in range(1, importer.count(".") + 1)}
    return {
        ".".join(parts[:length])
        for length in range(1, len(parts) + 1)
        if ".".join(parts[:length]) not in own_packages | {importer}
    }


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Return ``{module: modules of the packages that importing it loads}``, from all its imports."""
    modules = module_files(root)
    graph = {}
    for module, (path, is_package) in modules.items():
        graph[module] = set()
        for found in imports_in(path.read_text(encoding="utf-8"), module, is_package):
            graph[module] |= loaded(found.name, module, modules)
    return graph


def unexplained_function_imports(root: Path = ROOT) -> list[tuple[str, str]]:
    """Return ``(module, what it imports from)`` for each import inside a function that does not say why."""
    found = set()
    for module, (path, is_package) in module_files(root).items():
        for each in imports_in(path.read_text(encoding="utf-8"), module, is_package):
            if each.in_function and not each.explained:
                found.add((module, each.statement))
    return sorted(found)


# -- checking the plan ----------------------------------------------------------------------------


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
    assert problems(import_graph(), LAYERS) == LAYER_PROBLEMS_FOR_NOW


def test_imports_inside_functions_say_why():
    assert unexplained_function_imports() == FUNCTION_IMPORTS_FOR_NOW


def test_the_graph_sees_imports_inside_functions_and_the_packages_they_load():
    graph = import_graph()
    assert "automations.checks" in graph["automations.apps"]  # inside ready()
    assert "automations.worker" in graph["automations.management.commands.automation_worker"]  # its package
    assert "consumers" not in graph["automations.management.commands.automation_worker"]  # not the web
    assert "automations.flow" in graph["automations.page_views"]  # the package of automations.flow.*


def test_every_module_has_a_line_in_the_architecture_document():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [module for module in import_graph() if f"`{module}`" not in text]
    assert missing == []


# -- every module first in a fresh process ------------------------------------------------------

# Runs in a process of its own: Django is set up once, with only the apps the library needs and
# app configs whose ready() does nothing (the library's import half of it, which would load a
# module's imports in a kind order and hide a circle); then a forked child per module imports that
# module as the first of the library's modules after the models. Forking keeps the whole run to
# a few seconds; a new interpreter per module, two at a time, took some 40 s on a busy two-core
# machine. The modules Django imports before the models (the app configs) and pytest before Django
# is set up (the plugin) are imported first in children forked before the setup.
FRESH_IMPORTS = r"""
import importlib
import os
import sys
import traceback

import django
from django.apps import AppConfig
from django.conf import settings


class QuietAutomationsConfig(AppConfig):
    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"


class QuietCMSAutomationsConfig(AppConfig):
    name = "automations.cms_automations"
    label = "cms_automations"
    default_auto_field = "django.db.models.BigAutoField"


def import_first(module):
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(module)
        except BaseException:
            print(f"failed {module}: {traceback.format_exc().strip().splitlines()[-1]}", flush=True)
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


def library_modules():
    return sorted(name for name in sys.modules if name.split(".")[0] in ("automations", "consumers"))


with_cms, before_setup, modules = sys.argv[1] == "cms", sys.argv[2].split(), sys.argv[3:]
apps = [
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "__main__.QuietAutomationsConfig",
]
if with_cms:
    apps += ["django.contrib.sites", "treebeard", "cms", "menus", "sekizai"]
    apps += ["__main__.QuietCMSAutomationsConfig"]
settings.configure(
    INSTALLED_APPS=apps,
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
        }
    ],
    SITE_ID=1,
    CMS_TEMPLATES=[("page.html", "Page")],
)
for module in before_setup:
    import_first(module)
django.setup()
print("set up with", *library_modules(), flush=True)
for module in modules:
    import_first(module)
"""

# Imported before Django is set up: the app configs by Django, the plugin by pytest.
BEFORE_SETUP = ["automations.apps", "automations.testing", "automations.testing.pytest_plugin"]
BEFORE_SETUP_CMS = ["automations.cms_automations.apps"]


def import_each_first(modules, before_setup, with_cms=False) -> tuple[list[str], list[str]]:
    """Return the library modules Django's setup loaded, and a line per module that failed to import."""
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    arguments = ["cms" if with_cms else "plain", " ".join(before_setup), *modules]
    run = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    set_up = next(line for line in lines if line.startswith("set up with")).split()[3:]
    return set_up, [line for line in lines if line.startswith("failed ")]


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="imports each module in a forked process")


@needs_fork
def test_every_module_imports_first_in_a_fresh_process():
    modules = [name for name in module_files(ROOT) if not name.startswith("automations.cms_automations")]
    set_up, failed = import_each_first(modules, BEFORE_SETUP)

    assert failed == []
    # What Django loads with the models stays below the engine: the engine reads the models when
    # it is imported, so loading it while the models load breaks (a swapped group model, say).
    persistence = [name for name, _ in LAYERS].index("persistence")
    assert [module for module in set_up if (layer_of(module, LAYERS) or 0) > persistence] == []


@needs_fork
@pytest.mark.skipif(importlib.util.find_spec("cms") is None, reason="django CMS is not installed")
def test_the_cms_plugins_import_in_a_fresh_process():
    # django CMS itself loads the plugins while it is set up; what is left is to see that it can.
    modules = [module for module in module_files(ROOT) if module.startswith("automations.cms_automations")]
    _, failed = import_each_first(modules, BEFORE_SETUP_CMS, with_cms=True)

    assert failed == []


# -- the checks themselves ------------------------------------------------------------------------

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


def write_package(root: Path, files: dict[str, str]) -> None:
    (root / "consumers").mkdir()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_graph_reads_relative_imports_and_imports_in_functions(tmp_path):
    write_package(
        tmp_path,
        {
            "automations/__init__.py": "",
            "automations/low.py": "def late():\n    from automations import high  # on use\n",
            "automations/high.py": "from .sub import leaf\n",
            "automations/sub/__init__.py": "from ..low import late\n",
            "automations/sub/leaf.py": "import json\n",
        },
    )
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


def test_importing_a_module_counts_the_packages_loaded_on_the_way(tmp_path):
    # The circle of automations.instances before it imported automations.receivers: it imported
    # automations.flow.messages, whose package imports the facade, which imports the run time.
    write_package(
        tmp_path,
        {
            "automations/__init__.py": "",
            "automations/instances.py": "from automations.flow.messages import receiver_for\n",
            "automations/flow/__init__.py": "from .automation import Automation\n",
            "automations/flow/automation.py": "from automations.instances import ModelReference\n",
            "automations/flow/messages.py": "",
        },
    )
    graph = import_graph(tmp_path)

    assert graph["automations.instances"] == {"automations.flow", "automations.flow.messages"}
    assert graph["automations.flow.automation"] == {"automations.instances"}  # its own package is loaded
    assert circles(graph) == [["automations.flow", "automations.flow.automation", "automations.instances"]]


def test_an_import_inside_a_function_needs_a_comment_that_says_why(tmp_path):
    write_package(
        tmp_path,
        {
            "automations/__init__.py": (
                "def ready():\n"
                "    # The models are not loaded yet when this module is imported.\n"
                "    from automations import models\n"
                "    from automations import views\n"
                "\n"
                "def lazy():\n"
                "    import twisted  # optional: only the embedded server needs it\n"
                "\n"
                "def pointless():\n"
                "    import json\n"
                "\n"
                "def silenced():\n"
                "    import os  # noqa: F401\n"
            ),
        },
    )

    assert unexplained_function_imports(tmp_path) == [("automations", "json"), ("automations", "os")]
