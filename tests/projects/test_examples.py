"""The example projects run headless with the bundled model and do what they say."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nodegraph import Graph
from nodegraph.cli import main

PROJECTS = Path(__file__).parents[2] / "projects"
# The ffhq_* examples name a published model no test downloads (tests/models/test_by_name.py).
EXAMPLES = sorted(
    p.name.removesuffix(".ngproj.json")
    for p in PROJECTS.glob("*.ngproj.json")
    if not p.name.startswith("ffhq_")
)


def handle_distances(graph: Graph, drag_id: str) -> tuple[float, float]:
    """(distance before, distance after) between a drag's handles and targets, worst point."""
    start = graph.value(next(link.src for link in graph.links if link.dst == drag_id and link.input == "points"))
    end = graph.value(drag_id, "points")

    def worst(points):
        return max(math.dist(h, t) for h, t in zip(points.handles, points.targets))

    return worst(start), worst(end)


def test_the_committed_projects_are_what_the_builder_writes(tmp_path):
    sys.path.insert(0, str(PROJECTS))
    try:
        import build_examples
    finally:
        sys.path.remove(str(PROJECTS))
    for name, build in build_examples.EXAMPLES.items():
        build().save(tmp_path / f"{name}.ngproj.json")
        expected = json.loads((PROJECTS / f"{name}.ngproj.json").read_text())
        assert json.loads((tmp_path / f"{name}.ngproj.json").read_text()) == expected, name


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_from_the_cli_and_writes_a_real_image(name, tmp_path):
    assert main(["run", str(PROJECTS / f"{name}.ngproj.json"), "--output-dir", str(tmp_path), "--quiet"]) == 0
    pngs = sorted(tmp_path.glob("*.png"))
    assert pngs, f"{name} wrote no PNG"
    pixels = np.asarray(Image.open(pngs[0]).convert("RGB"), dtype=np.float32)
    assert pixels.shape == (128, 128, 3)
    assert pixels.std() > 10, "the image is blank"
    reopened = Graph.load(pngs[0])  # the PNG carries the project that made it
    original = Graph.load(PROJECTS / f"{name}.ngproj.json")
    assert sorted(map(str, reopened.links)) == sorted(map(str, original.links))


@pytest.mark.parametrize("name", ["single_drag", "two_stage"])
def test_example_drags_bring_handles_close_to_targets(name, tmp_path):
    graph = Graph.load(PROJECTS / f"{name}.ngproj.json")
    for node in graph.nodes:
        if node.type != "DragOptimizer":
            continue
        before, after = handle_distances(graph, node.id)
        # Most of the way, or within a pixel of the stop radius (2 px at 128 px).
        assert after < 0.5 * before or after <= 3.0, f"{node.id}: {before:.1f}px -> {after:.1f}px"
