"""The package's import graph: no module imports itself back through others, and the fit
loop finds its backends through the registry alone (issue: seams of the training core).

Every import counts, lazy ones inside functions too: a circle through a lazy import is a
layering knot even when it loads. Imports under ``if TYPE_CHECKING:`` never run.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from linclass.backends.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "linclass"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run, at module level or inside a function (a lazy import
    is a dependency too), except those under ``if TYPE_CHECKING:``."""
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
            and id(n) not in skipped]


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                # "from pkg import sub" imports the submodule pkg.sub when there is one
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            for target in targets:
                if target.startswith("linclass"):
                    dep = owner(target)
                    if dep is not None and dep != name:
                        deps.add(dep)
        graph[name] = deps
    return graph


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for dep in graph[node]:
            if dep == start:
                return [*path, start]
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, [*path, dep]))
    return None


def test_no_import_circle():
    graph = _graph()
    circles = [c for m in sorted(graph) if (c := _cycle_through(graph, m)) is not None]
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_training_reaches_no_backend_module():
    """Not even indirectly: the loop reads the registry and loads a backend by name."""
    graph = _graph()
    backends = {e.module for e in REGISTRY.values()}
    reached, todo = set(), [m for m in graph if m.startswith("linclass.training")]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in reached:
                reached.add(dep)
                todo.append(dep)
    assert not reached & backends


def test_contract_forbids_every_registered_backend():
    """The import-linter contract (``make contracts``) forbids the whole backends package
    but its registry, so a backend added to the registry is covered without a new line."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [c for c in contracts if "linclass.training" in c["source_modules"]
                   and "linclass.backends" in c.get("forbidden_modules", [])]
    assert contract["forbidden_modules"] == ["linclass.backends"]
    rules = contract["ignore_imports"]
    assert all(rule.endswith("-> linclass.backends.registry") for rule in rules)
    assert all(e.module.startswith("linclass.backends.") for e in REGISTRY.values())


def test_every_registered_backend_makes_parts():
    for entry in REGISTRY.values():
        path = PACKAGE.parent / (entry.module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "make_parts" for n in tree.body), \
            entry.module
