"""DragOptimizer through the engine: it drags, re-runs only when upstream changes, and chains."""

from __future__ import annotations

import math

from nodegraph import Graph


def chain(checkpoint: str, steps: int = 6) -> Graph:
    g = Graph()
    gen = g.add("Generator", id="generator", checkpoint=checkpoint)
    lat = g.add("Latent", id="latent", seed=1)
    g.connect(gen, "generator", lat, "generator")
    for name, source, handle, target in [("stage1", lat, [12, 12], [16, 12]), ("stage2", "stage1", [20, 20], [20, 16])]:
        pts = g.add("PointSet", id=f"{name}_points", points=[{"handle": handle, "target": target}])
        opt = g.add("DragOptimizer", id=name, steps=steps, preview_every=2)
        g.connect(gen, "generator", opt, "generator")
        g.connect(source, "latent", opt, "latent")
        g.connect(pts, "points", opt, "points")
    mask = g.add("Mask", id="mask", size=32, strokes=[{"points": [[20, 18]], "radius": 6, "mode": "add"}])
    g.connect(mask, "mask", "stage2", "mask")
    export = g.add("Export", id="export", path="out.png")
    g.connect("stage2", "image", export, "image")
    return g


def test_drag_moves_the_latent_and_reports_tracked_handles(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint)
    g.path = None
    result = g.value("stage1", "latent")
    start = g.value("latent", "latent")
    assert not result.ws.equal(start.ws)
    points = g.value("stage1", "points")
    assert points.targets == [(16.0, 12.0)] and all(math.isfinite(v) for v in points.handles[0])


def test_changing_stage2_points_does_not_rerun_stage1(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint)
    first = g.evaluate(output_dir=tmp_path)
    assert {"stage1", "stage2"} <= set(first.computed)
    g.set("stage2_points", points=[{"handle": [20, 20], "target": [22, 16]}])
    second = g.evaluate(output_dir=tmp_path)
    assert "stage2" in second.computed and "stage1" in second.cached


def test_changing_the_export_path_does_not_rerun_any_drag(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint)
    g.evaluate(output_dir=tmp_path)
    g.set("export", path="other.png")
    report = g.evaluate(output_dir=tmp_path)
    assert report.computed == ["export"]
    assert (tmp_path / "other.png").exists()


def test_moving_a_stage1_point_reruns_both_stages(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint)
    g.evaluate(output_dir=tmp_path)
    g.set("stage1_points", points=[{"handle": [12, 12], "target": [12, 16]}])
    report = g.evaluate(output_dir=tmp_path)
    assert {"stage1", "stage2"} <= set(report.computed)


def test_drag_sends_progress_with_previews(tiny_checkpoint, tmp_path):
    from nodegraph.events import NodeProgress

    g = chain(tiny_checkpoint)
    events = []
    g.evaluate(outputs=["stage1"], on_event=events.append, output_dir=tmp_path)
    progress = [e for e in events if isinstance(e, NodeProgress) and e.node_id == "stage1"]
    assert len(progress) >= 1 and progress[-1].total == 6
    assert any(e.preview is not None for e in progress)
