"""The toyfaces benchmarks run end to end and report the figures the issue asks for."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from nodes.drag import DragConfig
from nodes.gan import save_generator
from nodes.toyfaces.bench import FIVE, ONE, bench_landmarks, drag_pair, save_pictures, summarise
from nodes.toyfaces.landmarks import load_detector
from nodes.toyfaces.latent_space import Z_DIM, face_params, geometry_pair
from nodes.toyfaces.render import LANDMARK_INDEX, render_batch
from tests.tiny import make_tiny_generator


def small_toyfaces_generator():
    return make_tiny_generator(resolution=128, z_dim=Z_DIM, channel_base=512, channel_max=16)


def test_every_handle_subset_names_real_landmarks():
    from nodes.toyfaces.bench import FIVE

    assert all(name in LANDMARK_INDEX for name in ONE + FIVE)


def test_drag_pair_measures_before_and_after_with_the_detector():
    outcome = drag_pair(small_toyfaces_generator(), load_detector(), seed=1, names=ONE, config=DragConfig(steps=2))
    assert outcome.setting == "1" and outcome.steps <= 2
    for value in (outcome.distance_before, outcome.distance_after, outcome.psnr_vs_render, outcome.psnr_vs_generator):
        assert math.isfinite(value)
    row = summarise([outcome])["1"]
    assert row["pairs"] == 1 and row["distance_before_px"] == outcome.distance_before


def test_handle_offset_is_where_the_generator_draws_the_handles_landmarks():
    G, detector = small_toyfaces_generator(), load_detector()
    outcome = drag_pair(G, detector, seed=1, names=FIVE, config=DragConfig(steps=1))
    z1, _ = geometry_pair(1)
    _, marks1 = render_batch(params=face_params(z1))
    index = [LANDMARK_INDEX[n] for n in FIVE]
    with torch.no_grad():
        drawn = detector(G.synthesis(G.mapping(z1)).clamp(-1, 1))[0, index]
    handles = marks1[0, index].clamp(0, G.img_resolution - 1)
    assert outcome.handle_offset == pytest.approx(float((drawn - handles).norm(dim=-1).mean()), rel=1e-5)
    assert outcome.handle_offset > 0
    row = summarise([outcome, dataclasses.replace(outcome, handle_offset=outcome.handle_offset + 1.0)])["5"]
    assert row["handle_offset_px"] == pytest.approx(outcome.handle_offset + 0.5)
    assert row["per_pair"][0]["handle_offset_px"] == outcome.handle_offset


def test_bench_landmarks_prints_json_for_one_five_and_all(tmp_path, capsys):
    path = tmp_path / "g.safetensors"
    save_generator(small_toyfaces_generator(), path)
    pictures = tmp_path / "pictures"
    argv = ["--pairs", "1", "--steps", "1", "--checkpoint", str(path), "--json", "--save-pictures", str(pictures), "--method", "guarded"]
    assert bench_landmarks(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["method"] == "guarded"
    assert report["settings"]["all"]["per_pair"][0]["lost_handles"] == []
    assert set(report["settings"]) == {"1", "5", "all"}
    assert [p["seed"] for p in report["settings"]["all"]["per_pair"]] == [report["settings"]["all"]["worst_pair"]["seed"]]
    assert sorted(p.name for p in pictures.iterdir()) == ["pair0_1.png", "pair0_5.png", "pair0_all.png"]


def test_detail_kept_is_the_dragged_images_fine_detail_over_the_starts():
    from nodes.toyfaces.scores import laplacian_energy

    outcome = drag_pair(small_toyfaces_generator(), load_detector(), seed=1, names=ONE, config=DragConfig(steps=2))
    before, after, _ = outcome.pictures
    assert not torch.equal(before, after)
    assert outcome.detail_kept == pytest.approx(float(laplacian_energy(after) / laplacian_energy(before)), rel=1e-6)
    smeared = dataclasses.replace(outcome, seed=2, detail_kept=outcome.detail_kept / 2)
    row = summarise([outcome, smeared])["1"]
    assert row["detail_kept"] == pytest.approx(0.75 * outcome.detail_kept)
    assert [p["detail_kept"] for p in row["per_pair"]] == [outcome.detail_kept, smeared.detail_kept]


def test_summarise_lists_each_pair_and_names_the_worst():
    outcome = drag_pair(small_toyfaces_generator(), load_detector(), seed=1, names=ONE, config=DragConfig(steps=1))
    far = dataclasses.replace(outcome, seed=2, distance_after=outcome.distance_after + 5.0)
    row = summarise([outcome, far])["1"]
    assert [p["seed"] for p in row["per_pair"]] == [1, 2]
    assert row["per_pair"][0]["distance_before_px"] == outcome.distance_before
    assert row["per_pair"][0]["steps"] == outcome.steps
    assert row["worst_pair"]["seed"] == 2 and row["worst_pair"]["distance_after_px"] == far.distance_after


def test_drag_pair_traces_distance_and_tracking_error_and_plots_them(tmp_path):
    outcome = drag_pair(small_toyfaces_generator(), load_detector(), seed=1, names=ONE, config=DragConfig(steps=2))
    assert outcome.steps == 2
    [(step, distance, tracking_error)] = outcome.trace  # step 1's handles, tracked on step 0's image
    assert step == 1 and math.isfinite(distance) and tracking_error >= 0
    save_pictures(outcome, tmp_path / "pair0_1.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pair0_1.png", "pair0_1_trace.png"]


def test_bench_landmarks_drags_pairs_in_batches_with_the_same_outcomes(tmp_path, capsys):
    """--drags-per-batch drags a handle set's pairs together (drag_many): the same per-pair
    figures as one at a time, up to float rounding, and the pairs per second of each."""
    path = tmp_path / "g.safetensors"
    save_generator(small_toyfaces_generator(), path)
    reports = {}
    for batch in ("1", "2"):
        argv = ["--pairs", "2", "--steps", "3", "--checkpoint", str(path), "--json", "--drags-per-batch", batch]
        assert bench_landmarks(argv) == 0
        reports[batch] = json.loads(capsys.readouterr().out)
    assert reports["2"]["drags_per_batch"] == 2
    for setting in ("1", "5", "all"):
        one, many = (reports[b]["settings"][setting] for b in ("1", "2"))
        assert [p["seed"] for p in many["per_pair"]] == [p["seed"] for p in one["per_pair"]]
        assert [p["steps"] for p in many["per_pair"]] == [p["steps"] for p in one["per_pair"]]
        assert [p["distance_after_px"] for p in many["per_pair"]] == pytest.approx(
            [p["distance_after_px"] for p in one["per_pair"]], abs=0.05
        )
        assert many["pairs_per_second"] > 0


def test_bench_landmarks_refuses_batches_on_an_engine(capsys):
    with pytest.raises(SystemExit):
        bench_landmarks(["--drags-per-batch", "4", "--engine", "local"])
    assert "leave out --engine" in capsys.readouterr().err
