"""The DragOptimizer's trajectory: recorded at the right steps, chained across stages, kept on Stop, saved."""

from __future__ import annotations

import threading

import torch
from PIL import Image

from nodes.gan import load_generator
from nodes.trajectory import Trajectory, TrajectoryRecorder
from tests.nodes.test_drag_chain import chain


def test_trajectory_holds_the_start_every_kth_step_and_the_last(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint, steps=7)
    g.set("stage1", trajectory_every=3)
    trajectory = g.value("stage1", "trajectory")
    assert trajectory.steps.tolist() == [0, 3, 6, 7]
    start = g.value("latent", "latent").ws
    assert torch.allclose(trajectory.ws(0), start)
    assert torch.allclose(trajectory.ws(len(trajectory) - 1), g.value("stage1", "latent").ws)
    assert trajectory.targets[:, 0].tolist() == [[16.0, 12.0]] * 4


def test_second_stage_trajectory_continues_the_first(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint, steps=4)
    g.connect("stage1", "trajectory", "stage2", "trajectory")
    g.set("stage1", trajectory_every=2)
    g.set("stage2", trajectory_every=2)
    film = g.value("stage2", "trajectory")
    assert film.steps.tolist() == [0, 2, 4, 6, 8]
    assert film.stages.tolist() == [0, 0, 0, 1, 1]
    assert film.targets[-1, 0].tolist() == [20.0, 16.0]
    assert torch.allclose(film.ws(len(film) - 1), g.value("stage2", "latent").ws, atol=1e-6)


def test_stages_with_different_numbers_of_pairs_chain_into_one_film(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint, steps=2)
    g.connect("stage1", "trajectory", "stage2", "trajectory")
    g.set("stage2_points", points=[{"handle": [20, 20], "target": [20, 16]}, {"handle": [8, 24], "target": [10, 24]}])  # fmt: skip
    g.set("stage1", trajectory_every=1)
    g.set("stage2", trajectory_every=1)
    anim = g.add("ExportAnimation", id="anim", path="film.gif")
    g.connect("generator", "generator", anim, "generator")
    g.connect("stage2", "trajectory", anim, "trajectory")
    g.evaluate(outputs=["anim"], output_dir=tmp_path)
    film = g.value("stage2", "trajectory")
    assert film.stages.tolist() == [0, 0, 0, 1, 1] and film.counts.tolist() == [1, 2]
    assert film.points(0) == ([(12.0, 12.0)], [(16.0, 12.0)])
    handles, targets = film.points(4)
    assert targets == [(20.0, 16.0), (10.0, 24.0)] and len(handles) == 2
    assert film.distances_of(2).shape == (1,) and film.distances_of(4).shape == (2,)
    with Image.open(tmp_path / "film.gif") as im:
        assert im.n_frames == 5
    film.save(tmp_path / "t.trajectory.safetensors")
    again = Trajectory.load(tmp_path / "t.trajectory.safetensors")
    assert again.counts.equal(film.counts) and again.points(4) == film.points(4)
    g.set("stage1_points", points=[{"handle": [12, 12], "target": [16, 12]}, {"handle": [6, 6], "target": [6, 8]}])  # fmt: skip
    g.set("stage2_points", points=[{"handle": [20, 20], "target": [20, 16]}])
    fewer_later = g.value("stage2", "trajectory")  # 2 pairs, then 1
    assert fewer_later.counts.tolist() == [2, 1] and len(fewer_later.points(4)[0]) == 1


def test_stopped_drag_keeps_its_trajectory_up_to_the_stopped_step(tiny_checkpoint):
    from nodes.drag import DragConfig, drag

    G = load_generator(tiny_checkpoint)
    ws = G.mapping(torch.randn(1, G.z_dim), None)
    stop = threading.Event()
    recorder = TrajectoryRecorder(ws, [(12.0, 12.0)], [(20.0, 12.0)], every=2)

    def on_step(state):
        recorder.on_step(state)
        if state.step == 4:
            stop.set()

    result = drag(
        G,
        ws,
        [(12, 12)],
        [(20, 12)],
        config=DragConfig(steps=20, stop_px=0.01),
        on_step=on_step,
        cancel=stop,
    )
    distances = [
        float(torch.dist(torch.tensor(h), torch.tensor(t)))
        for h, t in zip(result.handles, result.targets)
    ]
    trajectory = recorder.finish(result.steps, result.ws, result.handles, distances)
    assert result.cancelled and result.steps == 5
    assert trajectory.steps.tolist() == [0, 2, 4, 5]


def test_stop_in_a_run_keeps_the_trajectory_to_the_stopped_step_and_a_reload_redoes_it(
    tiny_checkpoint, tmp_path
):
    from nodegraph import CancelToken, Graph, events
    from tests.editor.test_stop_keeps import _drag_graph, _stop_at

    g = _drag_graph(tiny_checkpoint, steps=1000)
    g.set("drag", trajectory_every=2)
    token = CancelToken()
    on_event, seen = _stop_at(4, token, finish=True)
    report = g.evaluate(["drag"], device="cpu", on_event=on_event, cancel=token)
    (settled,) = [e for e in seen if isinstance(e, events.NodeSettled)]
    stopped = settled.params["stopped_at"]
    kept = report.outputs["drag"]["trajectory"]
    assert kept.steps.tolist() == [*range(0, stopped, 2), stopped]
    assert torch.allclose(kept.ws(len(kept) - 1), report.outputs["drag"]["latent"].ws)
    g.set("drag", stopped_at=stopped)
    assert g.evaluate(["drag"], device="cpu").computed == []  # the kept film, cached
    g.save(tmp_path / "p.ngproj.json")
    again = Graph.load(tmp_path / "p.ngproj.json").value("drag", "trajectory", device="cpu")
    assert again.steps.equal(kept.steps) and torch.allclose(again.dws, kept.dws, atol=1e-5)


def test_trajectory_survives_save_and_reload(tiny_checkpoint, tmp_path):
    g = chain(tiny_checkpoint, steps=3)
    trajectory = g.value("stage1", "trajectory")
    trajectory.save(tmp_path / "t.trajectory.safetensors")
    again = Trajectory.load(tmp_path / "t.trajectory.safetensors")
    assert again.steps.equal(trajectory.steps) and again.dws.equal(trajectory.dws)
    assert again.handles.equal(trajectory.handles) and again.ws_start.equal(trajectory.ws_start)


def test_a_long_trajectory_is_thinned_to_the_frame_bound():
    from nodes.trajectory import MAX_FRAMES

    recorder = TrajectoryRecorder(torch.zeros(1, 2, 3), [(0.0, 0.0)], [(1.0, 0.0)], every=1)
    trajectory = recorder.finish(0, torch.zeros(1, 2, 3), [(0.0, 0.0)], [1.0])
    long = trajectory
    for _ in range(MAX_FRAMES + 10):
        long = long.then(Trajectory(torch.tensor([0, 1]), torch.zeros(1, 2, 3), torch.zeros(2, 2, 3),
                                    torch.zeros(2, 1, 2), torch.ones(2, 1, 2), torch.ones(2, 1), torch.zeros(2, dtype=torch.long)))  # fmt: skip
    assert len(long) <= MAX_FRAMES and long.steps[-1] == MAX_FRAMES + 10


def test_animation_decodes_with_the_frame_count_size_and_duration(tiny_checkpoint, tmp_path):
    from PIL import Image

    g = chain(tiny_checkpoint, steps=4)
    g.set("stage1", trajectory_every=2)  # frames at steps 0, 2, 4
    for suffix in ("webp", "gif"):
        anim = g.add(
            "ExportAnimation",
            id=f"anim_{suffix}",
            path=f"drag.{suffix}",
            fps=10,
            size=64,
            hold_last=0.5,
        )
        g.connect("generator", "generator", anim, "generator")
        g.connect("stage1", "trajectory", anim, "trajectory")
    g.evaluate(outputs=["anim_webp", "anim_gif"], output_dir=tmp_path)
    for suffix in ("webp", "gif"):
        with Image.open(tmp_path / f"drag.{suffix}") as im:
            assert im.n_frames == 3 and im.size == (64, 64)
            durations = []
            for i in range(im.n_frames):
                im.seek(i)
                im.load()  # WebP fills in the duration on load
                durations.append(im.info["duration"])
            assert durations == [100, 100, 600]
