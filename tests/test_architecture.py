"""The shape of the package (docs/architecture.md): few top-level parts, no import
cycle (lazy imports inside functions included)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "aggregator"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, wherever in the file."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                for alias in node.names:
                    child = f"{target}.{alias.name}"
                    imported.add(child if child in modules else target)
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
        graph[name] = {other for other in imported if other in modules and other != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_at_most_15_parts_at_its_top() -> None:
    parts = [
        p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()
    ]
    assert len(parts) <= 15, sorted(parts)


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_app_shell_reaches_the_database_only_through_the_facade() -> None:
    graph = import_graph()
    offenders = {
        module: sorted(other for other in imported if other.startswith("aggregator._storage"))
        for module, imported in graph.items()
        if module.startswith("aggregator._app")
    }
    assert {module: found for module, found in offenders.items() if found} == {}


def test_no_function_is_over_60_lines() -> None:
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 60:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.name} ({lines})")
    assert long == []


#: The names of feedparser that ``aggregator`` may use: what its package exports at the
#: top (``feedparser.parse``, its exception classes, ``FeedParserDict``), through
#: ``import feedparser``. Its modules (``feedparser.mixin``, ``.urls``, ``.datetimes``,
#: ...) and underscore names are its internals: they change without notice, and the
#: fast path's conventions are our own (``_sources/feed_conventions.py``).
def feedparser_internals(source: str) -> list[str]:
    import feedparser

    def internal(name: str) -> bool:
        return name.startswith("_") or inspect.ismodule(getattr(feedparser, name, None))

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "feedparser":
            names = [alias.name for alias in node.names]
            if node.module != "feedparser" or any(internal(name) for name in names):
                found.append(f"from {node.module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.startswith("feedparser.")]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "feedparser"
            and internal(node.attr)
        ):
            found.append(f"feedparser.{node.attr}")
    return found


def test_the_package_uses_only_feedparsers_public_names() -> None:
    offenders = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in PACKAGE.rglob("*.py")
        if (found := feedparser_internals(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_feedparser_rule_finds_internals() -> None:
    source = (
        "import feedparser\nimport feedparser.urls\nfrom feedparser import parse, _x\n"
        "from feedparser.datetimes import _parse_date\nfrom feedparser.urls import resolve\n"
        "feedparser.parse(b'')\nfeedparser.NonXMLContentType\nfeedparser.mixin\n"
        "feedparser._private\n"
    )
    assert feedparser_internals(source) == [
        "import feedparser.urls",
        "from feedparser import parse, _x",
        "from feedparser.datetimes import _parse_date",
        "from feedparser.urls import resolve",
        "feedparser.mixin",
        "feedparser._private",
    ]
