"""An optimizer's name is written once, in its record (:data:`linclass.options.OPTIMIZERS`):
everywhere else the code asks the record (a tag, a field, ``PARAMS[...].default``), so a
new optimizer, or a renamed one, changes one row (issue 24).

The test scans every module of ``src/linclass`` for string constants equal to an optimizer
name (docstrings and ``__all__`` lists excepted). ``momentum`` is also a parameter's name
(``mu``); it counts only where it stands for the optimizer: ``optimizer="momentum"``, a
default of a parameter named ``optimizer``, the value of a dict's ``"optimizer"`` key, or a
comparison that mentions ``optimizer``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import linclass
from linclass.options import names

SRC = Path(linclass.__file__).parent
#: The records module: where the names live.
RECORDS = "options.py"
#: Files with names still written out, kept here until their owners move them to the
#: records (each line says what replaces it). The lead empties this.
PENDING: dict[str, str] = {
}

NAMES = frozenset(names("optimizer"))
#: Also a parameter's name: counted only in an optimizer's context.
AMBIGUOUS = frozenset({"momentum"})


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _exports(tree: ast.Module) -> set[int]:
    """The constants of ``__all__ = [...]`` (function names, not optimizer names)."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            out |= {id(c) for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
    return out


def _as_optimizer(node: ast.Constant, parent: ast.AST) -> bool:
    """True where an ambiguous name stands for the optimizer, not the parameter."""
    if isinstance(parent, ast.keyword):
        return parent.arg == "optimizer"
    if isinstance(parent, ast.arguments):
        positional = [*parent.posonlyargs, *parent.args]
        pairs = list(zip(positional[len(positional) - len(parent.defaults):], parent.defaults,
                         strict=True))
        pairs += list(zip(parent.kwonlyargs, parent.kw_defaults, strict=True))
        return any(d is node and a.arg == "optimizer" for a, d in pairs)
    if isinstance(parent, ast.Dict):
        return any(v is node and isinstance(k, ast.Constant) and k.value == "optimizer"
                   for k, v in zip(parent.keys, parent.values, strict=True))
    if isinstance(parent, ast.Compare):
        return "optimizer" in ast.unparse(parent)
    return False


def occurrences(path: Path) -> list[tuple[int, str]]:
    """``(line, name)`` of every optimizer name written out in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _docstrings(tree) | _exports(tree)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if node.value not in NAMES or id(node) in skip:
            continue
        if node.value in AMBIGUOUS and not _as_optimizer(node, parents[id(node)]):
            continue
        out.append((node.lineno, node.value))
    return sorted(out)


def test_optimizer_names_are_written_only_in_the_records():
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel != RECORDS and (hits := occurrences(path)):
            found[rel] = hits
    unexpected = {k: v for k, v in found.items() if k not in PENDING}
    assert not unexpected, f"optimizer names outside the records: {unexpected}"
    stale = sorted(set(PENDING) - set(found))
    assert not stale, f"PENDING entries with nothing left to move (delete them): {stale}"


def test_the_scan_sees_what_it_must(tmp_path):
    """The scan's own check: it finds names in code, and not in docstrings or parameter
    names."""
    sample = tmp_path / "sample.py"
    sample.write_text('''"""A docstring that says sgd."""
__all__ = ["sgd"]
def f(optimizer="momentum", momentum=None, batch_size=256):
    """momentum"""
    if optimizer == "gd":
        return {"optimizer": "nesterov", "momentum": 0.9}
    if "momentum" in ("momentum",):
        return fit(optimizer="lbfgs")
    return "genetic"
''')
    assert occurrences(sample) == [(3, "momentum"), (5, "gd"), (6, "nesterov"), (8, "lbfgs"),
                                   (9, "genetic")]
