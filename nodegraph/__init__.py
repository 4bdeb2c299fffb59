"""nodegraph: a scriptable node-graph engine with typed ports, undo, and lazy cached evaluation.

Build a Graph from registered Node types, evaluate it, save it; the editor and CLI sit on top.
The names below are imported on first use, so `nodegraph` (the command) can catch Ctrl+C
from its first moment: importing the package itself takes ~30 ms (see nodegraph.entry)."""

from __future__ import annotations

import importlib
from typing import Any

# Imported at once (light: no torch, no networkx): the function `registry` must win over the
# submodule of the same name, which Python would otherwise bind here when it is first imported.
from nodegraph.registry import register as register
from nodegraph.registry import registry as registry

_HOME = {
    "batch": "nodegraph.batching",
    "Context": "nodegraph.context",
    "BatchError": "nodegraph.errors",
    "Cancelled": "nodegraph.errors",
    "GraphError": "nodegraph.errors",
    "NodeError": "nodegraph.errors",
    "ProjectError": "nodegraph.errors",
    "CancelToken": "nodegraph.events",
    "Graph": "nodegraph.graph",
    "NodeHandle": "nodegraph.graph",
    "PortRef": "nodegraph.graph",
    "ANY": "nodegraph.node",
    "Input": "nodegraph.node",
    "Node": "nodegraph.node",
    "Output": "nodegraph.node",
    "Param": "nodegraph.node",
    "file_key": "nodegraph.node",
    "Link": "nodegraph.store",
}

__all__ = sorted([*_HOME, "register", "registry"])


def __getattr__(name: str) -> Any:
    """Import a public name from the module it lives in, the first time it is asked for."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'nodegraph' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
