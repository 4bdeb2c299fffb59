"""Saving a project with a sidecar is atomic as a pair: killed at any step, the old pair or the new
pair loads; temporary files a kill leaves are cleaned by the next write to the folder."""

from __future__ import annotations

import fcntl
import os
import time

import pytest
import torch

from nodegraph import Graph, atomic
from nodegraph import project as proj
from nodegraph.registry import Registry
from tests.engine.engine_nodes import TensorSum

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills a forked writer")

# Every file-system step of a save: a kill may land just before any of them.
STEPS = ("replace", "fsync", "unlink", "chmod", "open")


@pytest.fixture
def registry() -> Registry:
    reg = Registry(load_entry_points=False)
    reg.register(TensorSum)
    return reg


def graph_with(registry: Registry, value: float) -> Graph:
    g = Graph(registry=registry)
    g.add("TTensorSum", id="t", mask=torch.full((4, 4), value))
    return g


def save_killed_at(graph: Graph, path, step: int) -> bool:
    """Saves in a forked child that dies (os._exit, no cleanup) at its step-th file-system call;
    True when the save finished before that step."""
    pid = os.fork()
    if pid == 0:
        calls = {"n": 0}

        def dying(real):
            def call(*args, **kwargs):
                calls["n"] += 1
                if calls["n"] == step:
                    os._exit(9)
                return real(*args, **kwargs)

            return call

        for name in STEPS:
            setattr(os, name, dying(getattr(os, name)))
        graph.save(path)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_pair(registry, tmp_path):
    path = tmp_path / "p.ngproj.json"
    graph_with(registry, 1.0).save(path)
    new = graph_with(registry, 2.0)
    outcomes = []
    for step in range(1, 200):
        finished = save_killed_at(new, path, step)
        loaded = Graph.load(path, registry=registry).params("t")["mask"]
        outcomes.append(float(loaded[0, 0]))
        if finished:
            break
        graph_with(registry, 1.0).save(path)  # back to the old pair for the next kill
    assert finished and len(outcomes) > 5  # the kill visited every step of a save
    assert set(outcomes) <= {1.0, 2.0} and outcomes[-1] == 2.0


def test_a_finished_save_keeps_one_sidecar(registry, tmp_path):
    path = tmp_path / "p.ngproj.json"
    for value in (1.0, 2.0, 3.0):
        graph_with(registry, value).save(path)
    assert [p.name for p in tmp_path.glob("*.safetensors")] == [proj.sidecar_of(path).name]


def test_temp_files_of_a_killed_writer_are_cleaned_on_the_next_write(registry, tmp_path):
    stale = tmp_path / f".p.ngproj.json.killed{atomic.TEMP_SUFFIX}"
    stale.write_bytes(b"half a project")
    old = time.time() - 10 * atomic.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    graph_with(registry, 1.0).save(tmp_path / "other.ngproj.json")
    assert not stale.exists()


def test_a_temp_file_a_live_writer_holds_is_kept(registry, tmp_path):
    busy = tmp_path / f".p.ngproj.json.busy{atomic.TEMP_SUFFIX}"
    busy.write_bytes(b"being written")
    old = time.time() - 10 * atomic.STALE_TEMP_SECONDS
    os.utime(busy, (old, old))
    with open(busy, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        graph_with(registry, 1.0).save(tmp_path / "other.ngproj.json")
        assert busy.exists()
