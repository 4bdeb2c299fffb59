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
