"""The DragOptimizer node's params are DragConfig's fields, with DragConfig's own ranges."""

from __future__ import annotations

import dataclasses

import pytest

from nodegraph import Graph
from nodegraph.errors import GraphError
from nodes.drag import DragConfig
from nodes.drag.config import FIELD_RULES
from nodes.drag_optimizer import DragOptimizerNode


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(DragConfig)])
def test_each_config_field_is_a_param_with_the_configs_range(field):
    param, rule = DragOptimizerNode.param(field), FIELD_RULES[field]
    assert (param.min, param.max) == (rule.low, rule.high)
    if rule.choices is not None:
        assert set(rule.choices) <= set(param.choices)


@pytest.mark.parametrize("field, value", [("lr", 0.0), ("max_jump_px", 0.0), ("steps", 100_001)])
def test_the_node_refuses_what_drag_config_refuses(field, value):
    with pytest.raises(ValueError, match=f"DragConfig.{field}"):
        DragConfig(**{field: value})
    g = Graph()
    node = g.add("DragOptimizer")
    with pytest.raises(GraphError, match=field):
        g.set(node, **{field: value})
