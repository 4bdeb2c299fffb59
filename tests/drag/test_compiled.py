"""Compiled features (nodes.drag.compiled): a drag on a generator whose F goes through
torch.compile takes the same steps as the eager drag (on the whole map: cropping is off)."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag import compiled as compiled_module
from nodes.drag.compiled import compile_features, uses_compiled_features
from nodes.drag.many import drag_many

HANDLES = [(12.0, 16.0), (20.0, 12.0)]
TARGETS = [(17.0, 17.0), (24.0, 9.0)]


@pytest.mark.parametrize("method", ["draggan", "multiscale"])
def test_a_compiled_drag_takes_the_eager_drags_steps(tiny_generator, monkeypatch, method):
    calls: list[bool] = []
    original = compiled_module.compiled_synthesis

    def spy(G, ws, *args):
        calls.append(torch.is_grad_enabled())
        return original(G, ws, *args)

    monkeypatch.setattr("nodes.drag.compiled.compiled_synthesis", spy)
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


def test_a_compiled_batch_of_drags_takes_the_eager_batchs_steps(tiny_generator):
    """drag_many's batched synthesis goes through the compiled function too; as the batch
    shrinks (drags that arrive leave it) it keeps giving each drag the eager batch's steps."""
    G = tiny_generator
    codes = [G.random_ws(seed) for seed in (3, 4, 5)]
    handles = [HANDLES, [(16.0, 10.0), (8.0, 8.0)], [(10.0, 20.0), (22.0, 22.0)]]
    targets = [TARGETS, [(17.5, 10.0), (9.5, 8.0)], [(14.0, 24.0), (20.0, 26.0)]]
    config = DragConfig(method="multiscale", steps=5, lr=0.03, r1=2, r2=3)
    eager = drag_many(G, codes, handles, targets, config=config, batch=2)
    try:
        compile_features(G)
        compiled = drag_many(G, codes, handles, targets, config=config, batch=2)
    finally:
        compile_features(G, False)
    assert [r.steps for r in compiled] == [r.steps for r in eager]
    assert eager[1].steps < eager[0].steps  # drag 1 arrives early: the batch changes
    for one, many in zip(eager, compiled):
        assert [e.loss for e in many.history] == pytest.approx([e.loss for e in one.history], rel=1e-4)
        torch.testing.assert_close(many.ws, one.ws, rtol=0, atol=1e-4)
