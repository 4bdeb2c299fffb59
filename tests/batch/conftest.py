"""Fixtures for batch runs: a small drag project on a tiny generator, saved next to its checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nodegraph import Graph
from nodes.gan import save_generator
from tests.tiny import make_tiny_generator

torch.set_num_threads(1)

POINTS = [{"handle": [12, 14], "target": [15, 16]}]


def save_drag_project(folder, steps: int = 3, stop_px: float | None = None):
    """Generator (tiny, 32 px) -> Latent -> DragOptimizer (PointSet) -> Export img.png."""
    save_generator(make_tiny_generator(resolution=32), folder / "tiny.safetensors")
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint="tiny.safetensors", device="cpu")
    latent = g.add("Latent", id="latent", seed=0)
    points = g.add("PointSet", id="points", points=POINTS)
    drag = g.add("DragOptimizer", id="drag", steps=steps, lr=0.01, stop_px=stop_px, preview_every=0)
    export = g.add("Export", id="export", path="img.png")
    g.connect(gen, "generator", latent, "generator")
    for src, out, port in [(gen, "generator", "generator"), (latent, "latent", "latent"), (points, "points", "points")]:
        g.connect(src, out, drag, port)
    g.connect(drag, "image", export, "image")
    path = folder / "drag.ngproj.json"
    g.save(path)
    return path


@pytest.fixture
def drag_project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    return save_drag_project(folder)


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def manifest_rows(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "batch.jsonl").read_text().splitlines()]
