"""Compiled features (nodes.drag.compiled): a drag on a generator whose F goes through
torch.compile takes the same steps as the eager drag (on the whole map: cropping is off)."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag import compiled as compiled_module
from nodes.drag.compiled import compile_features, uses_compiled_features

HANDLES = [(12.0, 16.0), (20.0, 12.0)]
TARGETS = [(17.0, 17.0), (24.0, 9.0)]


@pytest.mark.parametrize("method", ["draggan", "multiscale"])
def test_a_compiled_drag_takes_the_eager_drags_steps(tiny_generator, monkeypatch, method):
    calls: list[bool] = []
    original = compiled_module.compiled_synthesis

    def spy(G, ws, *args):
        calls.append(torch.is_grad_enabled())
        return original(G, ws, *args)

    monkeypatch.setattr("nodes.drag.loop.compiled_synthesis", spy)
    torch.manual_seed(0)
    G = tiny_generator
    ws = G.random_ws(3)
    config = DragConfig(method=method, steps=6, lr=0.03, r1=2, r2=3)
    eager = drag(G, ws, HANDLES, TARGETS, config=config)
    assert not calls
    try:
        compile_features(G)
        assert uses_compiled_features(G)
        compiled = drag(G, ws, HANDLES, TARGETS, config=config)
    finally:
        compile_features(G, False)
    assert True in calls and False in calls  # the steps and the no-grad start went through it
    assert compiled.steps == eager.steps
    assert [e.loss for e in compiled.history] == pytest.approx(
        [e.loss for e in eager.history], rel=1e-4
    )
    tracks = torch.tensor([e.handles for e in eager.history])
    torch.testing.assert_close(
        torch.tensor([e.handles for e in compiled.history]), tracks, rtol=0, atol=1e-3
    )
    torch.testing.assert_close(compiled.ws, eager.ws, rtol=0, atol=1e-4)
    assert not uses_compiled_features(G) and G not in compiled_module._COMPILED
