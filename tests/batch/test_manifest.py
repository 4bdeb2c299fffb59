"""The manifest: last row per job wins, a half-written line is ignored, what counts as done."""

from __future__ import annotations

from nodegraph.batching.manifest import Manifest
from nodegraph.batching.sweep import Job


def test_a_half_written_line_is_ignored_and_does_not_swallow_the_next_row(tmp_path):
    manifest = Manifest(tmp_path)
    manifest.append({"job": "a", "status": "failed"})
    with open(manifest.path, "a") as f:
        f.write('{"job": "b", "sta')  # a writer killed mid-line
    manifest.append({"job": "c", "status": "ok"})
    manifest.append({"job": "a", "status": "ok"})
    assert manifest.rows() == {"a": {"job": "a", "status": "ok"}, "c": {"job": "c", "status": "ok"}}


def test_a_job_is_done_when_its_row_is_ok_for_its_overrides_and_its_outputs_exist(tmp_path):
    manifest = Manifest(tmp_path)
    job = Job("latent.seed=1", {"latent.seed": 1, "drag.lr": 0.5})
    (tmp_path / job.id).mkdir()
    (tmp_path / job.id / "img.png").write_bytes(b"png")
    row = {"job": job.id, "status": "ok", "overrides": {"latent.seed": 1, "drag.lr": 0.5}, "outputs": [f"{job.id}/img.png"]}
    assert manifest.is_done(job, row)
    assert not manifest.is_done(job, {**row, "status": "failed"})
    assert not manifest.is_done(job, {**row, "overrides": {"latent.seed": 1, "drag.lr": 0.7}})  # another --set
    (tmp_path / job.id / "img.png").unlink()
    assert not manifest.is_done(job, row)
