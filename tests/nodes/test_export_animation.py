"""ExportAnimation: every format decodes as written, carries what it can, and the mask's outline shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from nodegraph import Graph, ProjectError
from nodes import export_animation
from nodes.export_animation import HANDLE, MASK_OUTLINE, TARGET, TO_TARGET, draw_overlay, outline
from nodes.trajectory import Trajectory
from tests.nodes.test_drag_chain import chain


def film(checkpoint, *paths: str, **params) -> Graph:
    """The two-stage chain (stage2 masked) as one film, exported to each of `paths`."""
    g = chain(checkpoint, steps=2)
    g.connect("stage1", "trajectory", "stage2", "trajectory")
    g.set("stage1", trajectory_every=1)
    g.set("stage2", trajectory_every=1)  # frames at steps 0, 1, 2, 3, 4
    for i, path in enumerate(paths):
        anim = g.add("ExportAnimation", id=f"anim{i}", path=path, fps=10, hold_last=0.5, **params)
        g.connect("generator", "generator", anim, "generator")
        g.connect("stage2", "trajectory", anim, "trajectory")
    return g


def frames_of(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.array(im.convert("RGB")))
        return out


def test_animated_png_decodes_and_reopens_as_its_project(tiny_checkpoint, tmp_path):
    g = film(tiny_checkpoint, "film.png", size=64)
    g.evaluate(outputs=["anim0"], output_dir=tmp_path)
    with Image.open(tmp_path / "film.png") as im:
        assert im.format == "PNG" and im.n_frames == 5 and im.size == (64, 64)
        im.seek(4)
        assert im.info["duration"] == 600
    again = Graph.load(tmp_path / "film.png")
    assert set(again.nodes) == set(g.nodes)
    assert again.params("anim0")["path"] == "film.png"
    assert not again.permissions.write_outside and not again.permissions.overwrite_foreign


def test_animated_webp_decodes_and_reopens_as_its_project_with_no_permissions(
    tiny_checkpoint, tmp_path
):
    from nodegraph.trust import TrustError

    g = film(tiny_checkpoint, "film.webp", size=64)
    g.add("Export", id="outside", path="../outside.png")  # not run here: the reopened graph's
    g.connect("stage2", "image", "outside", "image")  # run must refuse it
    assert g.permissions.write_outside  # a graph built in code may write where it likes
    g.evaluate(outputs=["anim0"], output_dir=tmp_path)
    with Image.open(tmp_path / "film.webp") as im:  # libwebp merges frames that barely differ
        assert im.format == "WEBP" and 1 <= im.n_frames <= 5 and im.size == (64, 64)
        assert b"nodegraph:project" in im.info["xmp"]
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            im.load()
            durations.append(im.info["duration"])
        assert sum(durations) == 5 * 100 + 500  # 5 frames at 10 fps, the last held 0.5 s
    again = Graph.load(tmp_path / "film.webp")
    assert set(again.nodes) == set(g.nodes) and again.path is None
    assert again.params("anim0")["path"] == "film.webp"
    assert not again.permissions.write_outside and not again.permissions.overwrite_foreign
    with pytest.raises(TrustError, match="outside"):
        again.evaluate(output_dir=tmp_path / "run")
    assert not (tmp_path / "outside.png").exists()


def test_a_webp_project_changes_re_export_it_and_count_in_the_plan(tiny_checkpoint, tmp_path):
    from nodes.export_animation import ExportAnimationNode

    assert ExportAnimationNode.planned_writes({"path": "a.webp"}, lambda: 1234) == (1, 1234)
    assert ExportAnimationNode.planned_writes({"path": "a.gif"}, lambda: 1234) == (1, 0)
    g = film(tiny_checkpoint, "film.webp", "film.gif")
    g.evaluate(outputs=["anim0", "anim1"], output_dir=tmp_path)
    g.add("Mask", id="unused", size=32)  # the project changes, not the film
    report = g.evaluate(outputs=["anim0", "anim1"], output_dir=tmp_path)
    assert "anim0" in report.computed and "anim1" in report.cached
    assert "unused" in Graph.load(tmp_path / "film.webp").nodes


@pytest.mark.parametrize("suffix, kind", [("gif", "a GIF image"), ("jpg", "a JPEG image")])
def test_gif_and_a_still_image_are_refused_as_projects_with_the_reason(
    tiny_checkpoint, tmp_path, suffix, kind
):
    g = film(tiny_checkpoint, "film.gif")
    g.add("Export", id="still", path="still.jpg")
    g.connect("stage2", "image", "still", "image")
    g.evaluate(outputs=["anim0", "still"], output_dir=tmp_path)
    name = "film.gif" if suffix == "gif" else "still.jpg"
    with pytest.raises(ProjectError, match=f"is {kind}, which carries no project"):
        Graph.load(tmp_path / name)


def test_a_still_webp_from_export_is_refused_as_a_project(tiny_checkpoint, tmp_path):
    g = film(tiny_checkpoint)
    g.add("Export", id="still", path="still.webp")
    g.connect("stage2", "image", "still", "image")
    g.evaluate(outputs=["still"], output_dir=tmp_path)
    with pytest.raises(ProjectError, match="is a WebP image, which carries no project"):
        Graph.load(tmp_path / "still.webp")


def test_each_format_is_written_again_over_its_own_file(tiny_checkpoint, tmp_path):
    paths = ["a.webp", "a.gif", "a.png"] + (["a.mp4"] if export_animation.video_available() else [])
    g = film(tiny_checkpoint, *paths)
    outputs = [f"anim{i}" for i in range(len(paths))]
    g.evaluate(outputs=outputs, output_dir=tmp_path)
    g.set("stage2", steps=1)  # a new film over the files nodegraph wrote (marker found)
    report = g.evaluate(outputs=outputs, output_dir=tmp_path, raise_on_error=False)
    assert report.ok and set(outputs) <= set(report.computed)


def test_mask_outline_is_drawn_on_the_masked_stage_only(tiny_checkpoint, tmp_path):
    g = film(tiny_checkpoint, "film.png")
    g.evaluate(outputs=["anim0"], output_dir=tmp_path)
    trajectory = g.value("stage2", "trajectory")
    assert trajectory.stages.tolist() == [0, 0, 0, 1, 1]
    border = outline(trajectory.mask(3), 32).numpy()
    assert trajectory.mask(0) is None and border.any()
    frames = frames_of(tmp_path / "film.png")
    is_outline = (frames[3] == MASK_OUTLINE).all(axis=-1)
    assert is_outline[border].mean() > 0.8  # points drawn on top may cover a few
    assert not is_outline[~border].any()
    assert not (frames[0] == MASK_OUTLINE).all(axis=-1).any()
    g.set("anim0", overlay=False)
    g.evaluate(outputs=["anim0"], output_dir=tmp_path)
    assert not (frames_of(tmp_path / "film.png")[3] == MASK_OUTLINE).all(axis=-1).any()


def test_mask_outline_is_the_border_inside_the_region():
    region = torch.zeros(8, 8, dtype=torch.bool)
    region[2:6, 2:6] = True
    border = outline(region, 8)
    assert border.sum() == 12 and border[2, 2] and not border[3, 3] and not border[1, 1]


def test_mp4_decodes_with_its_frame_count_size_and_rate(tiny_checkpoint, tmp_path):
    if not export_animation.video_available():
        pytest.skip('MP4 needs the extra "video" (pip install "nodegraph[video]"): not installed')
    import imageio.v3 as iio

    g = film(tiny_checkpoint, "film.mp4", size=64)
    g.evaluate(outputs=["anim0"], output_dir=tmp_path)
    video = iio.imread(tmp_path / "film.mp4", plugin="FFMPEG")
    meta = iio.immeta(tmp_path / "film.mp4", plugin="FFMPEG")
    assert video.shape == (5 + 5, 64, 64, 3)  # 5 frames, the last held 0.5 s at 10 fps
    assert meta["fps"] == 10.0 and meta["codec"] == "h264"


def test_mp4_without_the_extra_names_it(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(export_animation, "video_available", lambda: False)
    g = film(tiny_checkpoint, "film.mp4")
    report = g.evaluate(outputs=["anim0"], output_dir=tmp_path, raise_on_error=False)
    message = str(report.nodes["anim0"].error)
    assert 'pip install "nodegraph[video]"' in message and "film.mp4" in message
    assert not (tmp_path / "film.mp4").exists()


def test_rendering_reports_progress_from_the_first_frame_to_the_last(tiny_checkpoint, tmp_path):
    from nodegraph import events as ev

    g = film(tiny_checkpoint, "film.gif")
    seen = []
    g.evaluate(outputs=["anim0"], output_dir=tmp_path, on_event=seen.append)
    steps = [
        (e.step, e.total) for e in seen if isinstance(e, ev.NodeProgress) and e.node_id == "anim0"
    ]
    assert steps == [(0, 5), (5, 5)]  # 5 frames: one batch of up to 8


def test_nodegraph_run_shows_the_film_s_progress_bar(tiny_checkpoint, tmp_path, capsys):
    from nodegraph.cli import main

    film(tiny_checkpoint, "film.gif").save(tmp_path / "film.ngproj.json")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "film.ngproj.json"), "--output-dir", str(out)]) == 0
    err = capsys.readouterr().err
    assert "anim0:   0%" in err and "0/5" in err and "5/5" in err and "rendering frames" in err
    assert (out / "film.gif").exists()


def walk(stages: list[int]) -> Trajectory:
    """A hand-made film on a 64 px image: one handle walking right along y = 32 by 6 px a frame
    (from x = 10), its target at (50, 32); `stages` numbers each frame's stage."""
    frames = len(stages)
    handles = torch.tensor([[[10.0 + 6 * i, 32.0]] for i in range(frames)])
    return Trajectory(
        steps=torch.arange(frames), ws_start=torch.zeros(1, 2, 4), dws=torch.zeros(frames, 2, 4),
        handles=handles, targets=torch.tensor([[[50.0, 32.0]]] * frames),
        distances=torch.ones(frames, 1), stages=torch.tensor(stages),
    )  # fmt: skip


def overlay(trajectory: Trajectory, index: int) -> np.ndarray:
    pil = Image.new("RGB", (64, 64))
    draw_overlay(pil, trajectory, index, 64)
    return np.array(pil)


def colour(pixels: np.ndarray, x: int, y: int) -> tuple:
    return tuple(int(v) for v in pixels[y, x])


def test_the_overlay_draws_the_start_ring_the_tracked_path_and_the_tracked_point():
    trajectory = walk([0, 0, 0, 0])  # the handle at x = 10, 16, 22, 28
    start = overlay(trajectory, 0)
    assert colour(start, 13, 32) == TO_TARGET  # only the line to the target
    last = overlay(trajectory, 3)
    assert colour(last, 13, 32) == colour(last, 19, 32) == HANDLE  # the tracked path
    assert colour(last, 28, 32) == HANDLE and colour(last, 50, 32) == TARGET  # dots now
    assert colour(last, 39, 32) == TO_TARGET  # handle to target
    ring = [colour(last, 10, 30), colour(last, 10, 34), colour(last, 8, 32)]
    assert ring == [HANDLE] * 3 and colour(last, 10, 31) == (0, 0, 0)  # hollow: a ring of r 2


def test_a_later_stage_draws_its_own_path_from_its_own_start():
    trajectory = walk([0, 0, 1, 1])  # stage 2 starts at frame 2, x = 22
    assert trajectory.stage_first(3) == 2 and trajectory.stage_first(1) == 0
    pixels = overlay(trajectory, 3)
    assert colour(pixels, 13, 32) == (0, 0, 0)  # stage 1's path is not drawn
    assert colour(pixels, 25, 32) == HANDLE and colour(pixels, 22, 30) == HANDLE
