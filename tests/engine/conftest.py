"""Fixtures for the engine's tests: a registry of the test node types and an empty graph.

The test types are also registered in the process-wide registry, which the CLI uses."""

from __future__ import annotations

import pytest
import torch

from nodegraph import Graph, registry
from nodegraph.registry import Registry
from tests.engine.engine_nodes import ALL, CALLS

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def reset_calls():
    CALLS.clear()
    yield


@pytest.fixture
def reg() -> Registry:
    test_registry = Registry(load_entry_points=False)
    for cls in ALL:
        test_registry.register(cls)
    return test_registry


@pytest.fixture
def graph(reg: Registry) -> Graph:
    return Graph(registry=reg)


@pytest.fixture
def global_types():
    """Registers the test types in the process-wide registry (for the CLI) and removes them after."""
    for cls in ALL:
        registry().register(cls, replace=True)
    yield
    for cls in ALL:
        registry().unregister(cls.type_name)


@pytest.fixture
def chain(graph: Graph):
    """const -> add -> sink, plus a sibling const2 -> sink2 that must never re-run needlessly."""
    c = graph.add("TConst", id="c", value=1.0)
    a = graph.add("TAdd", id="a", offset=10.0)
    s = graph.add("TSink", id="s")
    graph.connect(c, "out", a, "a")
    graph.connect(a, "out", s, "x")
    c2 = graph.add("TConst", id="c2", value=5.0)
    s2 = graph.add("TSink", id="s2")
    graph.connect(c2["out"], s2["x"])
    return graph
