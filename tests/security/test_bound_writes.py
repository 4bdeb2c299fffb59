"""Issue 26, rows 1, 5 and 6: writes stay in the folder they were checked in (a symlink swapped in
at any moment redirects nothing), the write budget refuses before writing, bad path text is a
clear error naming the node and field."""

from __future__ import annotations

import itertools
import os
import threading
import time

import pytest

from nodegraph import cli
from nodegraph.bound import BoundFolder, BoundPathError, WriteBudget, WriteBudgetError, WriteLimits
from tests.security.conftest import snapshot
from tests.security.hostile import render_graph, run, save_project

RACE_ROUNDS = 200
RACE_SECONDS = 5.0


def test_a_symlink_swapped_in_during_writes_redirects_none(tmp_path):
    """A thread swaps out/sub for a link to outside/ again and again while writes go on."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    (out / "sub").mkdir(parents=True)
    stop = threading.Event()

    def swapper():
        while not stop.is_set():
            try:
                os.rename(out / "sub", out / "real")
                os.symlink(outside, out / "sub")
                time.sleep(0)
                os.unlink(out / "sub")
                os.rename(out / "real", out / "sub")
                time.sleep(0)  # the real folder in place, as long as the link was: writes get both
            except OSError:
                pass

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    refused = written = 0
    deadline = time.monotonic() + RACE_SECONDS
    try:
        with BoundFolder.open(out) as root:
            # RACE_ROUNDS writes, more while none has got through yet (on a loaded machine the
            # swapping thread can hold the folder as a link for a whole burst), RACE_SECONDS at most.
            for i in itertools.count():
                if (i >= RACE_ROUNDS and written > 0) or time.monotonic() > deadline:
                    break
                try:
                    with root.folder(["sub"]) as sub:
                        sub.write(f"x{i}.png", b"data")
                    written += 1
                except BoundPathError:
                    refused += 1
    finally:
        stop.set()
        thread.join()
    assert os.listdir(outside) == []
    assert written + refused > 0 and written > 0


def test_the_output_folder_swapped_for_a_symlink_after_opening_gets_the_write(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    outside.mkdir()
    with BoundFolder.open(out) as root:
        os.rename(out, tmp_path / "moved")
        os.symlink(outside, out)
        root.write("x.png", b"data")
    assert os.listdir(outside) == [] and (tmp_path / "moved" / "x.png").read_bytes() == b"data"


def test_a_symlinked_output_folder_is_refused_when_opened(tmp_path):
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "out")
    with pytest.raises(BoundPathError, match="symbolic link"):
        BoundFolder.open(tmp_path / "out", create=False)


def test_the_budget_refuses_a_file_before_its_bytes_are_written(tmp_path):
    budget = WriteBudget(WriteLimits(files=2, bytes=10))
    with BoundFolder.open(tmp_path / "out") as root:
        root.write("a", b"12345", budget)
        with pytest.raises(WriteBudgetError, match="write budget"):
            root.write("b", b"123456", budget)
    assert os.listdir(tmp_path / "out") == ["a"]


def test_fifty_exports_are_refused_before_anything_is_written(world, capsys):
    def build(g):
        render_graph(world, "out/e0.png")(g)
        for i in range(1, 50):
            g.add("Export", id=f"export{i}", path=f"out/e{i}.png")
            g.connect("render", "image", f"export{i}", "image")

    project = save_project(world, build)
    code = cli.main(run(project))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "write budget of 32 files" in err[0], err
    assert not (world.project / "out").exists()


@pytest.mark.parametrize("bad", ["out/a\0b.png", "out/\ud800.png"], ids=["nul", "surrogate"])
def test_bad_path_text_is_one_line_naming_node_and_field(bad, world, capsys):
    project = save_project(world, render_graph(world, bad))
    before = snapshot(world.root, skip=world.project / "out")
    code = cli.main(run(project))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert "params.path" in err[0] and "node 'export'" in err[0], err
    assert snapshot(world.root, skip=world.project / "out") == before
