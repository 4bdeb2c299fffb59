"""Issue 26, row 6 (full disk), through `nodegraph run`: a write that fails with a real OSError
(a file-size limit, EFBIG; a full tmpfs, ENOSPC) is one line, exit 1, and the file the run
would have replaced is intact, no temporary file left beside it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest

from tests.security.hostile import World, render_graph, run, save_project
from tests.security.subprocess_cli import run_cli


def _rerun_with_another_seed(world: World, output_dir: Path | None = None) -> tuple[str, bytes]:
    """The project after a first run wrote x.png (ours, marked), its seed changed so the next
    run replaces x.png; (project path, the old x.png's bytes)."""
    project = save_project(world, render_graph(world, "x.png"))
    extra = ["--output-dir", str(output_dir)] if output_dir else []
    code, err, _, _ = run_cli([*run(project), *extra], world.root)
    assert code == 0, err
    old = ((output_dir or world.project) / "x.png").read_bytes()
    doc = json.loads(Path(project).read_text())
    next(n for n in doc["nodes"] if n["id"] == "latent")["params"]["seed"] = 7
    Path(project).write_text(json.dumps(doc))
    return project, old


def _one_line(code: int, err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert code == 1 and "Traceback" not in err, err[-2000:]
    assert len(lines) == 1 and len(lines[0]) < 300 and fragment in lines[0], lines


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))  # the new PNG is ~1.2 KB


def test_a_write_past_the_file_size_limit_is_one_line_and_keeps_the_old_file(tmp_path):
    world = World(tmp_path)
    project, old = _rerun_with_another_seed(world)
    code, err, _, _ = run_cli(run(project), tmp_path, preexec_fn=_file_size_limit)
    _one_line(code, err, "File too large: can not write")
    assert "x.png" in err and "free some space" in err
    assert (world.project / "x.png").read_bytes() == old
    assert sorted(os.listdir(world.project)) == ["p.ngproj.json", "x.png"]


@pytest.fixture
def small_tmpfs(tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path, small_tmpfs):
    world = World(tmp_path)
    project, old = _rerun_with_another_seed(world, small_tmpfs)
    fd = os.open(small_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, bytes(1024)):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    code, err, _, _ = run_cli([*run(project), "--output-dir", str(small_tmpfs)], tmp_path)
    _one_line(code, err, "No space left on device: can not write")
    assert (small_tmpfs / "x.png").read_bytes() == old
    assert sorted(os.listdir(small_tmpfs)) == ["filler", "x.png"]
