"""Trajectory files: Export writes them, TrajectoryLoad reads them back (as untrusted input), a saved film re-exports."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import save

from nodegraph import Graph
from nodegraph.bound import WriteBudgetError, WriteLimits
from nodegraph.budgets import MAX_TRAJECTORY_BYTES
from nodes.trajectory import MASK_GRID, MAX_FRAMES, Trajectory
from nodes.trajectory_file import METADATA, TrajectoryFileError, decode_trajectory
from tests.nodes.test_drag_chain import chain
from tests.nodes.test_export_animation import frames_of


def drag_with_exports(checkpoint: str, two_stage: bool = False) -> Graph:
    """The chain's stage 1 (or both stages as one film) with trajectory_every 2, its trajectory
    exported to drag.trajectory.safetensors and animated to first.gif."""
    g = chain(checkpoint, steps=4)
    # The tiny random generator: the guarded method moves its content, so the recorded frames
    # differ and a WebP keeps them all (the default method barely moves it in 4 steps).
    g.set("stage1", trajectory_every=2, method="guarded")
    g.set("stage2", trajectory_every=2, method="guarded")
    source = "stage1"
    if two_stage:
        g.connect("stage1", "trajectory", "stage2", "trajectory")
        source = "stage2"
    g.add("Export", id="save_film", path="drag.trajectory.safetensors")
    g.connect(source, "trajectory", "save_film", "trajectory")
    g.add("ExportAnimation", id="anim", path="first.gif", fps=10)
    g.connect("generator", "generator", "anim", "generator")
    g.connect(source, "trajectory", "anim", "trajectory")
    return g


def replay(checkpoint: str, film: str, out: str) -> Graph:
    """A new graph: TrajectoryLoad -> ExportAnimation, no drag."""
    g = Graph()
    g.add("Generator", id="generator", checkpoint=checkpoint)
    g.add("TrajectoryLoad", id="load", path=film)
    g.add("ExportAnimation", id="anim", path=out, fps=10)
    g.connect("generator", "generator", "anim", "generator")
    g.connect("load", "trajectory", "anim", "trajectory")
    return g


def same(a: Trajectory, b: Trajectory) -> bool:
    tensors_a, tensors_b = a.tensors(), b.tensors()
    return tensors_a.keys() == tensors_b.keys() and all(
        tensors_a[k].dtype == tensors_b[k].dtype and tensors_a[k].equal(tensors_b[k])
        for k in tensors_a
    )


def test_a_saved_film_re_exports_the_same_frames_without_the_drag(tiny_checkpoint, tmp_path):
    g = drag_with_exports(tiny_checkpoint)
    g.evaluate(outputs=["save_film", "anim"], output_dir=tmp_path)
    recorded = g.value("stage1", "trajectory")
    assert recorded.steps.tolist() == [0, 2, 4]
    assert same(Trajectory.load(tmp_path / "drag.trajectory.safetensors"), recorded)

    again = replay(tiny_checkpoint, str(tmp_path / "drag.trajectory.safetensors"), "second.gif")
    report = again.evaluate(outputs=["anim"], output_dir=tmp_path)
    assert "stage1" not in report.computed and set(report.computed) == {"generator", "load", "anim"}
    first, second = frames_of(tmp_path / "first.gif"), frames_of(tmp_path / "second.gif")
    assert len(first) == len(second) == 3
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_a_chained_two_stage_film_round_trips_with_its_stages_and_masks(tiny_checkpoint, tmp_path):
    g = drag_with_exports(tiny_checkpoint, two_stage=True)
    g.evaluate(outputs=["save_film"], output_dir=tmp_path)
    film = g.value("stage2", "trajectory")
    assert film.stages.tolist() == [0, 0, 0, 1, 1] and film.masks.shape == (2, MASK_GRID, MASK_GRID)
    again = Trajectory.load(tmp_path / "drag.trajectory.safetensors")
    assert same(again, film)
    assert again.mask(0) is None and again.mask(4).equal(film.mask(4))


def test_export_writes_the_trajectory_beside_the_image_and_counts_it_in_the_plan(
    tiny_checkpoint, tmp_path
):
    g = chain(tiny_checkpoint, steps=2)
    g.connect("stage2", "latent", "export", "latent")
    g.connect("stage2", "trajectory", "export", "trajectory")
    g.write_limits = WriteLimits(files=2)
    with pytest.raises(WriteBudgetError, match="3 files"):  # image, latent, trajectory
        g.evaluate(outputs=["export"], output_dir=tmp_path)
    assert not any(tmp_path.iterdir())
    g.write_limits = WriteLimits()
    g.evaluate(outputs=["export"], output_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.latent.safetensors", "out.png", "out.trajectory.safetensors",
    ]  # fmt: skip
    g.set("stage2", steps=1)  # a new trajectory over the file nodegraph wrote (marker found)
    assert g.evaluate(outputs=["export"], output_dir=tmp_path).ok
    assert len(Trajectory.load(tmp_path / "out.trajectory.safetensors")) == 2
    (tmp_path / "out.trajectory.safetensors").write_bytes(b"someone's file")
    report = g.evaluate(outputs=["export"], output_dir=tmp_path, raise_on_error=False)
    assert not report.ok and "was not written by nodegraph" in str(report.nodes["export"].error)


def test_a_project_with_trajectory_load_keeps_working_after_save_and_reload(
    tiny_checkpoint, tmp_path
):
    drag_with_exports(tiny_checkpoint).evaluate(outputs=["save_film"], output_dir=tmp_path)
    g = replay(
        tiny_checkpoint, "drag.trajectory.safetensors", "film.webp"
    )  # relative: the project's folder
    g.save(tmp_path / "replay.ngproj.json")
    again = Graph.load(tmp_path / "replay.ngproj.json")
    assert again.params("load")["path"] == "drag.trajectory.safetensors"
    again.evaluate(outputs=["anim"])
    assert len(frames_of(tmp_path / "film.webp")) == 3


def small(frames: int = 3, points: int = 1) -> dict[str, torch.Tensor]:
    return {
        "steps": torch.arange(frames), "stages": torch.zeros(frames, dtype=torch.long),
        "ws_start": torch.zeros(1, 4, 16), "dws": torch.randn(frames, 4, 16),
        "handles": torch.rand(frames, points, 2) * 32, "targets": torch.rand(frames, points, 2) * 32,
        "distances": torch.rand(frames, points),
    }  # fmt: skip


def write(path, tensors, metadata=METADATA) -> str:
    path.write_bytes(save(tensors, metadata=metadata))
    return str(path)


def nan_dws():
    t = small()
    t["dws"][1, 2, 3] = float("nan")
    return t


HOSTILE = {
    "wrong dtype": (lambda: {**small(), "dws": small()["dws"].double()}, "'dws' has dtype 'F64', expected F32"),
    "wrong shape": (lambda: {**small(), "handles": torch.zeros(3, 1, 3)}, "'handles' has shape (3, 1, 3)"),
    "NaN": (nan_dws, "'dws' holds NaN or infinite numbers"),
    "too many frames": (lambda: small(frames=MAX_FRAMES + 1), f"holds 1 to {MAX_FRAMES} frames, this one {MAX_FRAMES + 1}"),
    "an extra tensor": (lambda: {**small(), "payload": torch.zeros(3)}, "holds tensors ['payload']"),
    "steps going back": (lambda: {**small(), "steps": torch.tensor([0, 5, 2])}, "steps must count up from 0"),
    "a stage past its masks": (lambda: {**small(), "stages": torch.tensor([0, 0, 1]), "masks": torch.ones(1, MASK_GRID, MASK_GRID, dtype=torch.bool)}, "masks have shape (1, 128, 128), expected (2, 128, 128)"),
    "a stage's count past its pairs": (lambda: {**small(), "counts": torch.tensor([2])}, "each stage's count of pairs must be 1 to 1"),
    "a count per frame, not per stage": (lambda: {**small(), "counts": torch.ones(3, dtype=torch.long)}, "counts have shape (3,), expected (1,)"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_bad_trajectory_file_is_refused_in_one_line_naming_it(tmp_path, case):
    make, message = HOSTILE[case]
    path = write(tmp_path / "bad.trajectory.safetensors", make())
    with pytest.raises(TrajectoryFileError) as caught:
        decode_trajectory(path)
    text = str(caught.value)
    assert message in text and path in text and "\n" not in text and "Export" in text


def test_a_file_of_someone_else_an_oversized_header_or_file_is_refused_before_decoding(tmp_path):
    foreign = write(tmp_path / "a.safetensors", small(), metadata={"format": "other"})
    with pytest.raises(TrajectoryFileError, match="is not a nodegraph trajectory"):
        decode_trajectory(foreign)
    header = tmp_path / "b.trajectory.safetensors"
    header.write_bytes(
        (10**9).to_bytes(8, "little") + json.dumps({"__metadata__": METADATA}).encode()
    )
    with pytest.raises(TrajectoryFileError, match="declares a header of 1,000,000,000 bytes"):
        decode_trajectory(header)
    huge = tmp_path / "c.trajectory.safetensors"
    with open(huge, "wb") as f:
        f.truncate(MAX_TRAJECTORY_BYTES + 1)  # sparse: nothing of it is read
    with pytest.raises(TrajectoryFileError, match=f"the limit is {MAX_TRAJECTORY_BYTES:,}"):
        decode_trajectory(huge)
    with pytest.raises(TrajectoryFileError, match="does not exist"):
        decode_trajectory(tmp_path / "missing.trajectory.safetensors")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.trajectory.safetensors")
        with pytest.raises(TrajectoryFileError, match="FIFO"):
            decode_trajectory(tmp_path / "pipe.trajectory.safetensors")


def test_the_largest_film_of_an_18_by_512_model_fits_the_byte_bound(tmp_path):
    frames, points = MAX_FRAMES, 256
    steps = torch.arange(frames)
    largest = Trajectory(
        steps, torch.zeros(1, 18, 512), torch.zeros(frames, 18, 512), torch.zeros(frames, points, 2),
        torch.zeros(frames, points, 2), torch.zeros(frames, points), steps.clone(),
        torch.ones(frames, MASK_GRID, MASK_GRID, dtype=torch.bool), torch.arange(1, frames + 1),
    )  # fmt: skip
    largest.save(tmp_path / "big.trajectory.safetensors")
    size = (tmp_path / "big.trajectory.safetensors").stat().st_size
    assert 14_985_216 < size <= MAX_TRAJECTORY_BYTES
    assert same(Trajectory.load(tmp_path / "big.trajectory.safetensors"), largest)


def test_trajectory_load_without_a_path_says_what_to_set(tmp_path):
    g = Graph()
    g.add("TrajectoryLoad", id="load")
    report = g.evaluate(outputs=["load"], output_dir=tmp_path, raise_on_error=False)
    assert "TrajectoryLoad 'load' has no path" in str(report.nodes["load"].error)


def test_a_trajectory_past_the_bound_is_refused_before_it_is_written():
    from nodes.trajectory_file import encode_trajectory

    frames = MAX_FRAMES
    steps = torch.arange(frames)
    wide = Trajectory(
        steps, torch.zeros(1, 18, 1024), torch.zeros(frames, 18, 1024), torch.zeros(frames, 1, 2),
        torch.zeros(frames, 1, 2), torch.zeros(frames, 1), torch.zeros(frames, dtype=torch.long),
    )  # fmt: skip
    with pytest.raises(
        ValueError, match=f"the limit is {MAX_TRAJECTORY_BYTES:,}.*trajectory_every"
    ):
        encode_trajectory(wide)
