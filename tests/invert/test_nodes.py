"""ImageLoad and Invert through the engine: crop and resize, clear file errors, cached inversion
with progress, and PTI's generator travelling to the next node."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from nodegraph import Graph
from nodegraph.errors import NodeError
from nodegraph.events import NodeProgress
from nodes.types import image_to_uint8


def three_stripes(path, width=40, height=20):
    """Red | green | blue columns; the green one is exactly the centre square."""
    pixels = np.zeros((height, width, 3), np.uint8)
    side = (width - height) // 2
    pixels[:, :side] = (255, 0, 0)
    pixels[:, side : side + height] = (0, 255, 0)
    pixels[:, side + height :] = (0, 0, 255)
    Image.fromarray(pixels).save(path)
    return str(path)


def test_image_load_centre_crops_and_resizes(tmp_path):
    g = Graph()
    g.add("ImageLoad", id="load", path=three_stripes(tmp_path / "wide.png"), resolution=8)
    image = g.value("load")
    assert image.shape == (1, 3, 8, 8)
    assert torch.allclose(image[0, :, :, :], torch.tensor([-1.0, 1.0, -1.0])[:, None, None], atol=0.02)


def test_image_load_takes_the_resolution_of_a_linked_generator(tmp_path, checkpoint16):
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint16)
    load = g.add("ImageLoad", id="load", path=three_stripes(tmp_path / "wide.png"), resolution=64)
    g.connect(gen, "generator", load, "generator")
    assert g.value("load").shape == (1, 3, 16, 16)


@pytest.mark.parametrize("content", [b"not a picture", None])
def test_image_load_names_a_broken_or_missing_file(tmp_path, content):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    g = Graph()
    g.add("ImageLoad", id="load", path=str(path))
    with pytest.raises(NodeError, match="broken.png"):
        g.value("load")


def inversion_graph(checkpoint: str, image_path: str, pti_steps: int) -> Graph:
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint)
    load = g.add("ImageLoad", id="load", path=image_path)
    inv = g.add("Invert", id="invert", steps=10, pti_steps=pti_steps, preview_every=5)
    g.connect(gen, "generator", load, "generator")
    g.connect(gen, "generator", inv, "generator")
    g.connect(load, "image", inv, "image")
    return g


@pytest.fixture
def own_png(tmp_path, generator16, own_image):
    path = tmp_path / "own.png"
    Image.fromarray(image_to_uint8(own_image)).save(path)
    return str(path)


def test_invert_node_reports_progress_with_previews_then_caches(checkpoint16, own_png):
    g = inversion_graph(checkpoint16, own_png, pti_steps=4)
    events = []
    first = g.evaluate(["invert"], on_event=events.append)
    progress = [e for e in events if isinstance(e, NodeProgress) and e.node_id == "invert"]
    assert [e.step for e in progress] == list(range(1, 15)) and progress[-1].total == 14
    assert sum(e.preview is not None for e in progress) == 3  # steps 0, 5, 10
    assert "invert" in first.computed
    assert "invert" in g.evaluate(["invert"]).cached


def test_invert_node_outputs_the_tuned_copy_with_pti_and_the_input_without(checkpoint16, own_png):
    g = inversion_graph(checkpoint16, own_png, pti_steps=3)
    loaded = g.value("generator")
    assert g.value("invert", "generator") is not loaded
    latent = g.value("invert", "latent")
    assert latent.ws.shape == (1, loaded.num_ws, loaded.w_dim) and latent.resolution == 16
    g.set("invert", pti_steps=0)
    assert g.value("invert", "generator") is loaded
