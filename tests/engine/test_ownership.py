"""A module's private names are its own: no module of nodegraph/ or nodes/ calls, reads or
imports a `_name` that another of our modules defines (it asks the owner for a public method)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("nodegraph", "nodes") for p in (ROOT / folder).rglob("*.py"))


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def defined_private_names(tree: ast.AST) -> set[str]:
    """Private functions, classes, variables and attributes (self._x = ...) a module defines."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Name):
                    names.add(part.id)
                elif isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name):
                    names.add(part.attr)
    return {name for name in names if private(name)}


def foreign_private_uses(sources: dict[str, str]) -> list[str]:
    """`module:line what` for each use of another module's private name; sources: name -> code."""
    trees = {path: ast.parse(code) for path, code in sources.items()}
    owners: dict[str, set[str]] = {}
    for path, tree in trees.items():
        for name in defined_private_names(tree):
            owners.setdefault(name, set()).add(path)
    found = []
    for where, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                found += [f"{where}:{node.lineno} imports {a.name}" for a in node.names if private(a.name)]
            if not (isinstance(node, ast.Attribute) and private(node.attr)):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr in owners and where not in owners[node.attr]:
                found.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_module_uses_another_modules_private_names():
    sources = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in SOURCES}
    assert foreign_private_uses(sources) == []


def test_the_check_finds_a_call_and_an_import_of_another_modules_private_name():
    sources = {
        "store.py": "class Store:\n    def _link(self):\n        self._count = 1\n",
        "commands.py": "from store import _helper\ndef do(store):\n    store._link()\n",
        "graph.py": "class Graph:\n    def _link(self):\n        self._link()\n",
    }
    assert foreign_private_uses(sources) == ["commands.py:1 imports _helper", "commands.py:3 store._link"]
