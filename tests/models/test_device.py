"""`device` accepts mps (Apple GPUs) and `auto` picks cuda, then mps, then cpu. What torch sees
is faked here: no Mac was available, so MPS itself is untested."""

from __future__ import annotations

import pytest
import torch

from nodegraph.errors import GraphError
from nodegraph.evaluate import resolve_device
from nodes.generator import GeneratorNode


def fake(monkeypatch, cuda: bool, mps: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    ("cuda", "mps", "picked"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, picked):
    fake(monkeypatch, cuda, mps)
    assert resolve_device("auto") == picked


def test_mps_without_an_apple_gpu_is_refused_in_one_line(monkeypatch):
    fake(monkeypatch, False, False)
    with pytest.raises(GraphError, match="torch sees no Apple GPU"):
        resolve_device("mps")


def test_the_generator_offers_mps():
    device = next(p for p in GeneratorNode.params if p.name == "device")
    assert device.choices == ("auto", "cpu", "cuda", "mps")
