"""The DragGAN node types through the engine: values, validation, errors, files."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from nodegraph import Graph
from nodegraph.errors import GraphError, NodeError
from nodegraph.project import PNG_KEY
from nodes.types import LatentCode, PointPairs


def latent_graph(checkpoint: str, seed: int = 1) -> tuple[Graph, str, str]:
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint)
    lat = g.add("Latent", id="latent", seed=seed)
    g.connect(gen, "generator", lat, "generator")
    return g, gen, lat


def test_latent_from_seed_is_the_official_sampling(tiny_checkpoint):
    g, gen, lat = latent_graph(tiny_checkpoint, seed=5)
    latent = g.value(lat, "latent")
    G = g.value(gen, "generator")
    assert isinstance(latent, LatentCode) and latent.resolution == 32
    torch.testing.assert_close(latent.ws, G.random_ws(5, truncation_psi=0.7))


def test_generator_with_a_missing_checkpoint_fails_naming_the_path(tmp_path):
    g = Graph()
    gen = g.add("Generator", checkpoint=str(tmp_path / "nope.safetensors"))
    with pytest.raises(NodeError, match="nope.safetensors"):
        g.value(gen, "generator")


def test_pointset_refuses_non_finite_coordinates():
    g = Graph()
    with pytest.raises(GraphError, match="finite"):
        g.add("PointSet", points=[{"handle": [1, float("nan")], "target": [2, 2]}])


def test_pointset_gives_handles_and_targets():
    g = Graph()
    pts = g.add("PointSet", points=[{"handle": [1, 2], "target": [3, 4.5]}])
    assert g.value(pts, "points") == PointPairs([(1.0, 2.0)], [(3.0, 4.5)])


def test_mask_strokes_add_then_erase():
    g = Graph()
    strokes = [
        {"points": [[10, 10], [20, 10]], "radius": 3, "mode": "add"},
        {"points": [[15, 10]], "radius": 1, "mode": "erase"},
    ]
    mask = g.value(g.add("Mask", size=32, strokes=strokes), "mask")
    assert mask.shape == (32, 32)
    assert mask[10, 10] == 1 and mask[10, 20] == 1 and mask[13, 15] == 1
    assert mask[10, 15] == 0 and mask[0, 0] == 0


def test_mask_takes_its_size_from_a_linked_latent(tiny_checkpoint):
    g, gen, lat = latent_graph(tiny_checkpoint)
    mask = g.add("Mask")
    g.connect(lat, "latent", mask, "latent")
    assert g.value(mask, "mask").shape == (32, 32)


def test_mask_without_size_or_input_fails_with_the_fix():
    g = Graph()
    with pytest.raises(NodeError, match="size"):
        g.value(g.add("Mask"), "mask")


def test_mask_refuses_a_malformed_stroke():
    g = Graph()
    with pytest.raises(GraphError, match="radius"):
        g.add("Mask", size=8, strokes=[{"points": [[1, 1]], "radius": -2}])


def test_render_matches_the_generator(tiny_checkpoint):
    g, gen, lat = latent_graph(tiny_checkpoint)
    render = g.add("Render")
    g.connect(gen, "generator", render, "generator")
    g.connect(lat, "latent", render, "latent")
    image = g.value(render, "image")
    G, latent = g.value(gen, "generator"), g.value(lat, "latent")
    torch.testing.assert_close(image, G.synthesis(latent.ws).clamp(-1, 1))


def export_graph(tiny_checkpoint, path: str, **params) -> tuple[Graph, str]:
    g, gen, lat = latent_graph(tiny_checkpoint)
    render = g.add("Render")
    g.connect(gen, "generator", render, "generator")
    g.connect(lat, "latent", render, "latent")
    export = g.add("Export", path=path, **params)
    g.connect(render, "image", export, "image")
    g.connect(lat, "latent", export, "latent")
    return g, export


def test_export_png_embeds_the_project_and_writes_the_latent(tiny_checkpoint, tmp_path):
    g, export = export_graph(tiny_checkpoint, str(tmp_path / "out.png"))
    g.evaluate()
    with Image.open(tmp_path / "out.png") as img:
        assert img.size == (32, 32)
        project = json.loads(img.info[PNG_KEY])
    assert {n["type"] for n in project["nodes"]} >= {"Generator", "Latent", "Render", "Export"}
    reopened = Graph.load(tmp_path / "out.png")
    assert sorted(reopened.links, key=str) == sorted(g.links, key=str)
    assert (tmp_path / "out.latent.safetensors").exists()


def test_exported_latent_reloads_through_the_latent_node(tiny_checkpoint, tmp_path):
    g, export = export_graph(tiny_checkpoint, str(tmp_path / "out.png"))
    g.evaluate()
    g2, gen2, lat2 = latent_graph(tiny_checkpoint, seed=99)
    g2.set(lat2, from_file=str(tmp_path / "out.latent.safetensors"))
    torch.testing.assert_close(g2.value(lat2, "latent").ws, g.value("latent", "latent").ws)


def test_export_refuses_to_overwrite_a_file_it_did_not_write(tiny_checkpoint, tmp_path):
    foreign = tmp_path / "photo.png"
    Image.new("RGB", (4, 4), "red").save(foreign)
    g, export = export_graph(tiny_checkpoint, str(foreign))
    with pytest.raises(NodeError, match="overwrite"):
        g.evaluate()
    with Image.open(foreign) as img:
        assert img.size == (4, 4)


def test_export_overwrites_its_own_file_and_a_foreign_one_when_asked(tiny_checkpoint, tmp_path):
    target = tmp_path / "out.jpg"
    g, export = export_graph(tiny_checkpoint, str(target))
    g.evaluate()
    g.set("latent", seed=2)
    g.evaluate()  # its own file: fine
    Image.new("RGB", (4, 4), "red").save(target)
    g.set(export, overwrite=True)
    g.evaluate()
    with Image.open(target) as img:
        assert img.size == (32, 32)


def test_a_failed_export_leaves_the_previous_file_intact(tiny_checkpoint, tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    g, export = export_graph(tiny_checkpoint, str(target))
    g.evaluate()
    before = target.read_bytes()

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    g.set("latent", seed=7)
    with pytest.raises(NodeError, match="disk full"):
        g.evaluate()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_mask_from_image_starts_from_its_bright_pixels_then_applies_strokes(tmp_path):
    picture = Image.new("L", (16, 16), 0)
    picture.paste(255, (0, 0, 8, 16))  # left half bright = may change
    picture.save(tmp_path / "mask.png")
    g = Graph()
    node = g.add("Mask", size=16, from_image=str(tmp_path / "mask.png"),
                 strokes=[{"points": [[12, 12]], "radius": 1, "mode": "add"}])
    mask = g.value(node, "mask")
    assert mask[:, :8].min() == 1 and mask[0, 8:].max() == 0 and mask[12, 12] == 1


def test_mask_from_an_unreadable_image_fails_naming_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    g = Graph()
    with pytest.raises(NodeError, match="broken.png"):
        g.value(g.add("Mask", size=8, from_image=str(tmp_path / "broken.png")), "mask")
