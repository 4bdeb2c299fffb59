"""Issue 26, row 2 (second half): the batch driver holds one handle on its folder for the run,
and each local worker opens the folder once and refuses one that is not the driver's (its
(st_dev, st_ino) differ: the folder was moved or replaced while the batch started)."""

from __future__ import annotations

import os

import pytest

from nodegraph.batching.manifest import MANIFEST, Manifest, locked
from nodegraph.batching.project_runner import ProjectRunner
from nodegraph.errors import BatchError


def test_a_worker_refuses_a_folder_that_is_not_the_drivers(tmp_path):
    from tests.batch.conftest import save_drag_project

    (tmp_path / "project").mkdir()
    project = save_drag_project(tmp_path / "project", steps=1)
    out = tmp_path / "out"
    with locked(out) as handle:
        identity = handle.identity()
        os.rename(out, tmp_path / "moved")
        (tmp_path / "outside").mkdir()
        os.symlink(tmp_path / "outside", out)  # a link now, to somewhere else
        with pytest.raises(BatchError, match="symbolic link|not the folder the driver opened"):
            ProjectRunner(str(project), str(out), "cpu", None, identity)
        os.unlink(out)
        out.mkdir()  # a real folder, but another one
        with pytest.raises(BatchError, match="not the folder the driver opened") as caught:
            ProjectRunner(str(project), str(out), "cpu", None, identity)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
    assert os.listdir(tmp_path / "outside") == [] and os.listdir(out) == []


def test_a_worker_on_the_drivers_folder_starts(tmp_path):
    from tests.batch.conftest import save_drag_project

    (tmp_path / "project").mkdir()
    project = save_drag_project(tmp_path / "project", steps=1)
    with locked(tmp_path / "out") as handle:
        runner = ProjectRunner(str(project), str(tmp_path / "out"), "cpu", None, handle.identity())
    assert runner.folder.identity() == handle.identity()


def test_the_manifest_writes_through_the_drivers_handle(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    with locked(out) as handle:
        manifest = Manifest(out, handle)
        os.rename(out, tmp_path / "moved")
        os.symlink(outside, out)  # swapped after the driver opened it
        manifest.append({"job": "a", "status": "ok"})
    assert os.listdir(outside) == []
    assert (tmp_path / "moved" / MANIFEST).read_text().count('"job": "a"') == 1
