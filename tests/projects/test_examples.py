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
    for name in build_examples.EXAMPLES:
        build_examples.example(name).save(tmp_path / f"{name}.ngproj.json")
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


def _frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    with Image.open(path) as im:
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            im.load()
            frames.append(np.asarray(im.convert("RGB"), dtype=np.float32))
            durations.append(im.info["duration"])
    return frames, durations


def _near(frame: np.ndarray, colour, x: float, y: float, box: int = 8) -> int:
    """Pixels within `box` px of (x, y) that are within 60 of `colour` (GIF and WebP shift it)."""
    x, y = int(round(x)), int(round(y))
    window = frame[max(y - box, 0) : y + box + 1, max(x - box, 0) : x + box + 1]
    return int((np.linalg.norm(window - np.array(colour, np.float32), axis=-1) < 60).sum())


def test_two_stage_film_shows_both_stages_in_order_with_the_points_drawn(tmp_path):
    from nodes.export_animation import HANDLE, MASK_OUTLINE, TARGET, frame_indices

    graph = Graph.load(PROJECTS / "two_stage_film.ngproj.json")
    graph.evaluate(output_dir=str(tmp_path))
    film = graph.value("stage2", "trajectory")
    shown = frame_indices(len(film), 2)
    assert film.stages[shown[0]] == 0 and film.stages[shown[-1]] == 1
    scale = 256 / 128

    def px(point):
        return [(v + 0.5) * scale - 0.5 for v in point]

    for suffix in ("webp", "gif"):
        frames, durations = _frames(tmp_path / f"two_stage.{suffix}")
        assert frames[0].shape == (256, 256, 3)
        assert sum(durations) == 100 * len(shown) + 1000  # 10 fps, the last held 1 s
        if suffix == "gif":
            assert len(frames) == len(shown)
        first, last = frames[0], frames[-1]
        (h1, t1), (h2, _) = film.points(shown[0]), film.points(shown[-1])
        assert _near(first, HANDLE, *px(h1[0])) > 10 and _near(first, TARGET, *px(t1[0])) > 5
        assert _near(last, HANDLE, *px(h2[0])) > 10  # stage 2's handle, on its target
        assert _near(last, HANDLE, *px(h1[0]), box=4) < 3  # stage 1's points are gone
        outline = (np.linalg.norm(frames[-1] - np.array(MASK_OUTLINE, np.float32), axis=-1) < 60).sum()
        assert outline > 100, "stage 2's mask outline is drawn on the last frame"
        assert (np.linalg.norm(first - np.array(MASK_OUTLINE, np.float32), axis=-1) < 60).sum() < 20
