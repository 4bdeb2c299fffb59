"""The CUDA paths: run only where a GPU is present (skipped on CPU-only machines and in CI)."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag
from tests.tiny import make_tiny_generator

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_float32_on_cuda_matches_the_cpu(monkeypatch):
    # cuDNN convolutions default to TF32 on Ampere and later (10-bit mantissa): 1.3e-3 off on an
    # H100. Parity is a float32 property, so it is checked with TF32 off.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    G = make_tiny_generator(resolution=64)
    ws = G.random_ws(3)
    cpu = G.synthesis(ws)
    gpu = G.to("cuda").synthesis(ws.cuda()).cpu()
    assert (gpu - cpu).abs().max() < 1e-4


def test_tf32_on_cuda_stays_within_its_documented_tolerance(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)
    G = make_tiny_generator(resolution=64)
    ws = G.random_ws(3)
    cpu = G.synthesis(ws)
    gpu = G.to("cuda").synthesis(ws.cuda()).cpu()
    assert (gpu - cpu).abs().max() < 1e-2


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_half_precision_upper_blocks_stay_within_the_documented_tolerance(precision):
    G = make_tiny_generator(resolution=64).to("cuda")
    ws = G.random_ws(3)
    full = G.synthesis(ws)
    half = G.set_precision(precision).synthesis(ws)
    tolerance = {"float16": 2e-2, "bfloat16": 5e-2}[precision]
    assert (half - full).abs().max() < tolerance


def test_drag_runs_on_cuda_and_moves_the_latent():
    G = make_tiny_generator(resolution=32).to("cuda")
    ws = G.random_ws(1)
    result = drag(G, ws, [(12, 12)], [(16, 12)], config=DragConfig(steps=3))
    assert result.ws.is_cuda and not torch.equal(result.ws, ws)


def test_drag_many_on_cuda_gives_each_drags_own_outcome(monkeypatch):
    """The batched drags (nodes.drag.many) on a GPU: each within float32 rounding of its drag()."""
    from nodes.drag.many import drag_many

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    G = make_tiny_generator(resolution=32).to("cuda")
    codes = [G.random_ws(seed) for seed in range(4)]
    handles = [[(12.0, 16.0)], [(12.0, 16.0), (20.0, 12.0)], [(16.0, 10.0)], [(8.0, 8.0)]]
    targets = [[(18.0, 16.0)], [(18.0, 16.0), (26.0, 12.0)], [(16.0, 16.0)], [(12.0, 11.0)]]
    config = DragConfig(method="draggan", steps=8, lr=0.03, r1=2, r2=3)
    alone = [drag(G, ws, h, t, config=config) for ws, h, t in zip(codes, handles, targets)]
    together = drag_many(G, codes, handles, targets, config=config, batch=3)
    for one, many in zip(alone, together):
        assert many.ws.is_cuda and many.steps == one.steps
        torch.testing.assert_close(many.ws, one.ws, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_a_half_precision_drag_reads_float32_features_on_cuda(precision):
    from nodes.drag.features import synthesize_features

    G = make_tiny_generator(resolution=64).to("cuda")
    ws = G.random_ws(0)
    config = DragConfig(steps=10, lr=0.03, r1=2, r2=3)
    full = drag(G, ws, [(20.0, 30.0)], [(26.0, 30.0)], config=config)
    G.set_precision(precision)
    assert synthesize_features(G, ws, 3, trainable_rows=4).dtype == torch.float32
    half = drag(G, ws, [(20.0, 30.0)], [(26.0, 30.0)], config=config)
    assert max(abs(a.loss - b.loss) / b.loss for a, b in zip(half.history, full.history)) < 0.05


@pytest.mark.parametrize("method", ["draggan", "multiscale"])
def test_a_steady_cuda_step_synchronises_twice(method):
    """torch's sync debug mode warns at each device synchronisation: a steady step of a cropped
    drag on CUDA makes two (its checks after tracking, its figures), the index tensors' copies
    included (gan.transfer.tensor_on)."""
    import warnings

    from nodes.drag.loop import formulation_of, run_drag

    G = make_tiny_generator(resolution=64).to("cuda")
    counting = {"on": False, "syncs": 0}

    def on_step(state) -> None:  # step 2: from the end of step 1's update to the end of its own
        if state.step == 1:
            torch.cuda.synchronize()
            torch.cuda.set_sync_debug_mode("warn")
            counting["on"] = True
        elif state.step == 2:
            torch.cuda.set_sync_debug_mode("default")
            counting["on"] = False

    config = DragConfig(method=method, steps=3, stop_px=0.0, r1=2, r2=3)
    handles, targets = [(20.0, 30.0), (44.0, 24.0)], [(26.0, 30.0), (40.0, 30.0)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run_drag(G, G.random_ws(1), handles, targets, None, config, on_step, None, formulation_of(config))
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    assert len(syncs) == 2, [str(w.message) for w in syncs]


def test_stacked_drags_on_cuda_give_each_drags_own_outcome(monkeypatch):
    """nodes.drag.stacked on CUDA: four two-handle multiscale drags, three at a time, each within
    float32 rounding of drag() alone (TF32 off)."""
    from nodes.drag.many import drag_many

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    G = make_tiny_generator(resolution=32).to("cuda")
    handles = [[(12.0, 16.0), (20.0, 12.0)], [(16.0, 10.0), (8.0, 8.0)], [(10.0, 20.0), (22.0, 22.0)], [(14.0, 14.0), (18.0, 8.0)]]
    targets = [[(18.0, 16.0), (26.0, 12.0)], [(16.0, 14.0), (12.0, 11.0)], [(14.0, 24.0), (20.0, 26.0)], [(20.0, 14.0), (18.0, 14.0)]]
    config = DragConfig(method="multiscale", steps=8, lr=0.03, r1=2, r2=3)
    codes = [G.random_ws(seed) for seed in range(4)]
    alone = [drag(G, ws, h, t, config=config) for ws, h, t in zip(codes, handles, targets)]
    together = drag_many(G, codes, handles, targets, config=config, batch=3)
    for one, many in zip(alone, together):
        assert many.steps == one.steps
        torch.testing.assert_close(many.ws, one.ws, rtol=1e-3, atol=1e-3)
        torch.testing.assert_close(torch.tensor(many.handles), torch.tensor(one.handles), rtol=0, atol=0.05)
