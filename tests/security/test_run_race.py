"""Issue 26, row 1, end to end: `nodegraph run` exporting into out/sub while a thread swaps
out/sub (or out itself) for a symbolic link to a folder outside, again and again. Whatever the
timing, nothing lands outside: each export is written in the real folder or refused."""

from __future__ import annotations

import os
import threading
import time

from tests.security.hostile import World, render_graph, save_project
from tests.security.subprocess_cli import run_cli

EXPORTS = 20  # files one run writes (the write budget is 32)
RUNS = 3


def _project(world: World) -> str:
    def build(g):
        render_graph(world, "sub/x0.png")(g)
        for i in range(1, EXPORTS):
            g.add("Export", id=f"export{i}", path=f"sub/x{i}.png")
            g.connect("render", "image", f"export{i}", "image")

    return save_project(world, build)


def _swapper(folder, outside, stop: threading.Event) -> None:
    moved = folder.with_name(folder.name + ".real")
    while not stop.is_set():
        try:
            os.rename(folder, moved)
            os.symlink(outside, folder)
            time.sleep(0.002)  # a link for 2 ms, the real folder for 20 ms: the run gets past
            os.unlink(folder)  # its checks now and then, and a swap meets its writes
            os.rename(moved, folder)
        except OSError:
            pass
        time.sleep(0.02)


def _race(world: World, swapped) -> list[tuple[int, str]]:
    project = _project(world)
    stop = threading.Event()
    thread = threading.Thread(target=_swapper, args=(swapped, world.outside, stop), daemon=True)
    thread.start()
    results = []
    try:
        for _ in range(RUNS):
            argv = ["run", project, "--output-dir", str(world.out), "--device", "cpu", "--quiet"]
            code, err, _, _ = run_cli(argv, world.root)
            results.append((code, err))
    finally:
        stop.set()
        thread.join()
    return results


def test_a_run_racing_a_symlink_swap_of_its_sub_folder_writes_nothing_outside(tmp_path):
    world = World(tmp_path)
    (world.out / "sub").mkdir()
    before = sorted(os.listdir(world.outside))
    results = _race(world, world.out / "sub")
    assert sorted(os.listdir(world.outside)) == before, os.listdir(world.outside)
    for code, err in results:
        lines = err.strip().splitlines()
        assert code in (0, 1, 2) and "Traceback" not in err, err[-2000:]
        assert code == 0 or (len(lines) == 1 and len(lines[0]) < 300), lines[:3]


def test_a_run_racing_a_symlink_swap_of_its_output_folder_writes_nothing_outside(tmp_path):
    world = World(tmp_path)
    before = sorted(os.listdir(world.outside))
    results = _race(world, world.out)
    assert sorted(os.listdir(world.outside)) == before, os.listdir(world.outside)
    for code, err in results:
        lines = err.strip().splitlines()
        assert code in (0, 1, 2) and "Traceback" not in err, err[-2000:]
        assert code == 0 or (len(lines) == 1 and len(lines[0]) < 300), lines[:3]
