"""DragConfig.method: 'draggan' is the paper's loop step for step; each other method moves a
handle towards its target; the guard stops pulling a handle whose tracking collapsed, and says so."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag.baseline import OfficialFormulation
from nodes.drag.config import METHODS
from nodes.drag.guarded import GuardSettings
from nodes.drag.loop import run_drag

FAST = dict(lr=0.03, r1=2, r2=3)


def test_draggan_is_the_official_loop_step_for_step(tiny_generator):
    """The same handles and losses at every step as the official formulation (baseline.py)."""
    ws = tiny_generator.random_ws(0)
    handles, targets = [(12.0, 16.0), (20.0, 12.0)], [(18.0, 16.0), (26.0, 12.0)]
    config = DragConfig(method="draggan", steps=8, stop_px=0.1, **FAST)
    ours = drag(tiny_generator, ws, handles, targets, config=config)
    official = run_drag(tiny_generator, ws, handles, targets, None, config, None, None, OfficialFormulation)  # fmt: skip
    assert ours.steps == official.steps == 8
    for mine, theirs in zip(ours.history, official.history):
        assert mine.handles == theirs.handles
        assert mine.loss == pytest.approx(theirs.loss, rel=1e-4)
    torch.testing.assert_close(ours.ws, official.ws, rtol=1e-4, atol=1e-5)
    assert ours.guard_events == []


@pytest.mark.parametrize("method", [m for m in METHODS if m != "draggan"])
def test_each_method_moves_a_handle_towards_its_target(tiny_generator, method):
    # A random generator is a poor model to drag: this handle is one where its content moves.
    G = tiny_generator
    ws = G.random_ws(0)
    handle, target = (12.8, 16.0), (18.8, 16.0)
    result = drag(G, ws, [handle], [target], config=DragConfig(method=method, steps=30, **FAST))
    start = result.history[0].distances[0]
    end = ((result.handles[0][0] - target[0]) ** 2 + (result.handles[0][1] - target[1]) ** 2) ** 0.5
    assert end < start - 2


def test_the_guard_stops_pulling_a_handle_whose_tracking_collapsed(tiny_generator, monkeypatch):
    """With a confidence floor no match can reach, every handle is lost after `patience` tracks:
    the event names the handle and the step, and the lost handle is no longer pulled."""
    strict = GuardSettings(template_below=0.5, lost_below=2.0, patience=3)
    monkeypatch.setattr("nodes.drag.guarded.GUARD", strict)
    ws = tiny_generator.random_ws(0)
    result = drag(tiny_generator, ws, [(12.0, 16.0), (20.0, 12.0)], [(18.0, 16.0), (26.0, 12.0)],
                  config=DragConfig(method="guarded", steps=10, **FAST))  # fmt: skip
    assert [(e.handle, e.step) for e in result.guard_events] == [(0, 3), (1, 3)]
    assert "handle 0" in result.guard_events[0].describe()
    assert result.stopped == "lost" and result.steps == 3


def test_the_drag_node_reports_the_lost_handle_and_step(tiny_generator, tmp_path, monkeypatch):
    from nodegraph import Graph
    from nodes.gan import save_generator

    tiny_checkpoint = str(tmp_path / "tiny32.safetensors")
    save_generator(tiny_generator, tiny_checkpoint)

    monkeypatch.setattr("nodes.drag.guarded.GUARD", GuardSettings(0.5, lost_below=2.0, patience=2))
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=tiny_checkpoint)
    lat = g.add("Latent", id="latent", seed=1)
    pts = g.add("PointSet", id="points", points=[{"handle": [12, 12], "target": [16, 12]}])
    opt = g.add("DragOptimizer", id="drag", steps=6, method="guarded", preview_every=0)
    g.connect(gen, "generator", lat, "generator")
    g.connect(gen, "generator", opt, "generator")
    g.connect(lat, "latent", opt, "latent")
    g.connect(pts, "points", opt, "points")
    record = g.evaluate(output_dir=tmp_path).nodes["drag"]
    assert record.facts["lost_handles"] == [[0, 2]]
    assert any("handle 0 lost its tracking at step 2" in w for w in record.warnings)
