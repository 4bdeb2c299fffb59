"""Which engine module depends on which: the node base class and the plugin API (the Context a
node's compute receives) do not import the evaluator; the evaluator builds the project JSON it
hands to nodes without the project loader."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "nodegraph"


def imported_modules(module: str) -> set[str]:
    """Every module the file imports, at the top or inside a function (TYPE_CHECKING too)."""
    tree = ast.parse((ENGINE / f"{module}.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("module", ["node", "context", "report", "serialise"])
def test_the_plugin_api_does_not_import_the_evaluator(module):
    assert "nodegraph.evaluate" not in imported_modules(module)


def test_the_evaluator_does_not_import_the_project_loader():
    assert "nodegraph.project" not in imported_modules("evaluate")
