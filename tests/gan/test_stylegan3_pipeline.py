"""StyleGAN3 generators through the rest of the program: the Generator node (with the input
transform), the project chain Generator -> Latent -> PointSet -> DragOptimizer -> Export, the drag
engine (F = output of synthesis layer 5, as the official code) and inversion with PTI."""

from __future__ import annotations

import pytest
import torch

from nodegraph import Graph
from nodegraph.errors import NodeError
from nodes.drag import DragConfig, drag
from nodes.drag.baseline import OfficialFormulation
from nodes.drag.loop import run_drag
from nodes.gan import save_generator
from nodes.invert import invert
from tests.tiny import make_tiny_stylegan3


@pytest.fixture(scope="module")
def stylegan3_checkpoint(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sg3") / "tiny_t16.safetensors"
    save_generator(make_tiny_stylegan3("T"), path)
    return str(path)


def drag_project(checkpoint: str, **generator_params) -> Graph:
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint, **generator_params)
    lat = g.add("Latent", id="latent", seed=2)
    pts = g.add("PointSet", id="points", points=[{"handle": [6, 7], "target": [10, 7]}])
    mask = g.add(
        "Mask", id="mask", size=16, strokes=[{"points": [[8, 7]], "radius": 5, "mode": "add"}]
    )
    opt = g.add("DragOptimizer", id="drag", steps=3, preview_every=1, lr=0.01)
    export = g.add("Export", id="export", path="dragged.png")
    g.connect(gen, "generator", lat, "generator")
    for source, port in ((gen, "generator"), (lat, "latent"), (pts, "points"), (mask, "mask")):
        g.connect(source, port, opt, port)
    g.connect(opt, "image", export, "image")
    return g


def test_the_drag_project_runs_headless_on_a_stylegan3_checkpoint(stylegan3_checkpoint, tmp_path):
    g = drag_project(stylegan3_checkpoint)
    report = g.evaluate(output_dir=tmp_path)
    assert {"generator", "latent", "drag", "export"} <= set(report.computed)
    assert (tmp_path / "dragged.png").is_file()
    start, result = g.value("latent", "latent"), g.value("drag", "latent")
    assert result.ws.shape == (1, 8, 8) and not torch.equal(result.ws, start.ws)
    assert torch.equal(result.ws[:, 6:], start.ws[:, 6:])  # only the first `layers` rows move


def test_the_generator_node_translates_and_rotates_a_stylegan3_input(stylegan3_checkpoint):
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=stylegan3_checkpoint)
    lat = g.add("Latent", id="latent", seed=2)
    render = g.add("Render", id="render")
    g.connect(gen, "generator", lat, "generator")
    g.connect(gen, "generator", render, "generator")
    g.connect(lat, "latent", render, "latent")
    plain = g.value("render", "image")
    g.set("generator", translate_x=0.25, rotate=20.0)
    moved = g.value("render", "image")
    assert not torch.allclose(moved, plain, atol=1e-3)
    g.set("generator", translate_x=0.0, rotate=0.0)
    assert torch.allclose(g.value("render", "image"), plain, atol=1e-6)


def test_a_stylegan2_generator_refuses_an_input_transform(tiny_generator, tmp_path):
    path = save_generator(tiny_generator, tmp_path / "sg2.safetensors")
    g = Graph()
    g.add("Generator", id="generator", checkpoint=str(path), rotate=10.0)
    with pytest.raises(NodeError, match=r"rotate .*StyleGAN2 generator: set them to 0"):
        g.value("generator", "generator")


def test_drag_features_are_synthesis_layer_5_and_the_loss_is_the_official_one():
    G = make_tiny_stylegan3("R")
    ws = G.random_ws(3, truncation_psi=0.7)
    config = DragConfig(method="draggan", steps=2, lr=0.01, r1=2, r2=3)
    ours = drag(G, ws, [[5.0, 6.0]], [[11.0, 6.0]], config=config)
    official = run_drag(G, ws, [[5.0, 6.0]], [[11.0, 6.0]], mask=None, config=config, on_step=None, cancel=None, formulation=OfficialFormulation)  # fmt: skip
    for mine, theirs in zip(ours.history, official.history):
        assert mine.loss == pytest.approx(theirs.loss, rel=1e-4)
        assert mine.handles == theirs.handles
    assert G.block_resolutions[5] == 16  # layer 5 of this 16 px model is critically sampled


def test_inversion_and_pivotal_tuning_work_on_stylegan3():
    G = make_tiny_stylegan3("T")
    with torch.no_grad():
        target = G.synthesis(G.random_ws(7)).clamp(-1, 1)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    result = invert(G, target, steps=12, space="w+", pti_steps=4)
    assert result.ws.shape == (1, G.num_ws, G.w_dim) and result.stopped == "budget"
    assert result.history[-1].stage == "pti" and len(result.history) == 16
    assert result.history[11].loss < result.history[0].loss
    assert result.psnr >= result.pivot_psnr - 0.5
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())  # G itself untouched
