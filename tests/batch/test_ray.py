"""The Ray engine on a local Ray with 2 CPUs (skipped where Ray is not installed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nodegraph.batching import batch
from nodes.gan import save_generator
from nodes.toyfaces.bench import bench_landmarks
from nodes.toyfaces.latent_space import Z_DIM
from tests.batch.conftest import manifest_rows, pixels
from tests.tiny import make_tiny_generator

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_jobs_give_the_pixels_and_rows_of_local_jobs(local_ray, drag_project, tmp_path):
    options = dict(workers=2, cpus_per_job=1, device="cpu", progress=False)
    on_ray = batch(drag_project, ["latent.seed=0:2"], output_dir=tmp_path / "ray", engine="ray", **options)
    on_local = batch(drag_project, ["latent.seed=0:2"], output_dir=tmp_path / "local", engine="local", **options)
    assert [row["status"] for row in on_ray] == ["ok", "ok"]
    assert manifest_rows(tmp_path / "ray") == on_ray
    for ray_row, local_row in zip(on_ray, on_local):
        assert ray_row["outputs"] == local_row["outputs"] and ray_row["nodes"] == local_row["nodes"]
        image = ray_row["outputs"][0]
        assert np.array_equal(pixels(tmp_path / "ray" / image), pixels(tmp_path / "local" / image))


def test_a_ray_actor_runs_jobs_per_worker_at_once(local_ray, drag_project, tmp_path):
    options = dict(workers=1, cpus_per_job=1, device="cpu", progress=False)
    on_ray = batch(drag_project, ["latent.seed=0:3"], output_dir=tmp_path / "ray", engine="ray", jobs_per_worker=2, **options)
    alone = batch(drag_project, ["latent.seed=0:3"], output_dir=tmp_path / "local", engine="local", **options)
    assert [row["status"] for row in on_ray] == ["ok"] * 3
    for ray_row, local_row in zip(on_ray, alone):
        image = ray_row["outputs"][0]
        assert local_row["outputs"] == [image]
        difference = pixels(tmp_path / "ray" / image).astype(int) - pixels(tmp_path / "local" / image).astype(int)
        assert np.abs(difference).max() <= 2


def test_bench_landmarks_on_ray_reports_what_it_reports_in_process(local_ray, tmp_path, capsys):
    path = tmp_path / "g.safetensors"
    save_generator(make_tiny_generator(resolution=128, z_dim=Z_DIM, channel_base=512, channel_max=16), path)
    argv = ["--pairs", "1", "--steps", "2", "--checkpoint", str(path), "--json"]
    assert bench_landmarks(argv) == 0
    here = json.loads(capsys.readouterr().out)["settings"]
    assert bench_landmarks([*argv, "--engine", "ray", "--workers", "2"]) == 0
    on_ray = json.loads(capsys.readouterr().out)["settings"]
    for setting in ("1", "5", "all"):
        for figure in ("distance_before_px", "distance_after_px", "steps", "psnr_vs_render_db"):
            assert on_ray[setting][figure] == here[setting][figure]
