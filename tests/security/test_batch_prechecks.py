"""Issue 26, rows 2 and 6: a batch refuses what it can see before its workers start (a job folder
that stands there as a link or a file, a full disk), so the refusal costs no worker start."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from nodegraph.batching import run as batch_run
from nodegraph.batching.dispatch import EngineOptions
from nodegraph.batching.manifest import MIN_FREE_BYTES
from nodegraph.batching.run import BatchSpec, run_batch
from nodegraph.batching.workers import worker_name
from nodegraph.errors import BatchError


@pytest.fixture
def project(tmp_path):
    from tests.batch.conftest import save_drag_project

    (tmp_path / "project").mkdir()
    return save_drag_project(tmp_path / "project", steps=1)


@pytest.fixture
def no_workers(monkeypatch):
    """Fails the test if the batch opens a pool of workers."""

    def refuse(*args, **kwargs):
        raise AssertionError("the batch started workers")

    monkeypatch.setattr(batch_run, "open_pool", refuse)


@pytest.mark.parametrize("kind", ["link", "file"])
def test_a_blocked_job_folder_fails_in_the_driver_before_any_worker(
    tmp_path, project, no_workers, kind
):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir(), outside.mkdir()
    job = out / "latent.seed=0"
    if kind == "link":
        job.symlink_to(outside)
    else:
        job.write_text("a file\n")
    spec = BatchSpec(project, out, sweeps=["latent.seed=0"])
    result = run_batch(spec, progress=False)
    (row,) = result.rows
    assert row["status"] == "failed" and row["worker"] == worker_name()
    assert "latent.seed=0" in row["error"] and len(row["error"]) < 300
    assert ("symbolic link" if kind == "link" else "not a folder") in row["error"]
    assert result.summary.failed == 1 and result.summary.workers == 0
    assert list(outside.iterdir()) == []


def test_the_other_jobs_still_run_beside_a_blocked_one(tmp_path, project):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir(), outside.mkdir()
    (out / "latent.seed=0").symlink_to(outside)
    spec = BatchSpec(project, out, sweeps=["latent.seed=0,1"], engine=EngineOptions(workers=1))
    result = run_batch(spec, progress=False)
    assert [row["status"] for row in result.rows] == ["failed", "ok"]
    assert list(outside.iterdir()) == [] and any((out / "latent.seed=1").iterdir())


def test_a_full_disk_is_refused_before_any_worker(tmp_path, project, no_workers, monkeypatch):
    real = os.statvfs

    def nearly_full(where):
        st = real(where)
        return SimpleNamespace(f_bavail=(MIN_FREE_BYTES // st.f_frsize) - 1, f_frsize=st.f_frsize)

    monkeypatch.setattr(os, "statvfs", nearly_full)
    out = tmp_path / "out"
    with pytest.raises(BatchError) as caught:
        run_batch(BatchSpec(project, out, sweeps=["latent.seed=0"]), progress=False)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300
    assert "batch.jsonl" in message and "free some space" in message
    assert sorted(p.name for p in out.iterdir()) == [".batch.lock"]
