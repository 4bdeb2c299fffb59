"""Issue 26, rows 7 and 11: a batch driver killed by SIGKILL leaves no worker alive (parent-death
signal), and reads outside the project folder are recorded per job and summed up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from nodegraph.batching.run import BatchSummary

DRIVER = """
import os, sys, time
from nodegraph.batching.local_pool import LocalPool
from tests.security.test_batch_hostile import Sleeper
with LocalPool(Sleeper, 1, threads=1) as pool:
    print(" ".join(str(p.pid) for p in pool._procs.values()), flush=True)
    pool.submit("job", None)
    time.sleep(600)
"""


class Sleeper:
    """A runner whose task never ends by itself."""

    def run(self, task):
        time.sleep(600)

    def stop(self):
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL of the driver, Linux")
def test_workers_end_when_the_driver_is_killed():
    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=repo, OMP_NUM_THREADS="1")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        pids = [int(p) for p in driver.stdout.readline().split()]
        assert pids and all(psutil.pid_exists(p) for p in pids)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids), "a worker outlived its killed driver by 5 s"
    finally:
        driver.kill()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_summary_lists_reads_outside_with_their_jobs():
    summary = BatchSummary(jobs=2, ok=2, read_outside={"/m/x.pt (node 'gen')": ["a=1", "a=2"]})
    assert "read outside the project folder: /m/x.pt (node 'gen') in 2 jobs (a=1, a=2)" in str(
        summary
    )


def _batch(project: Path, out: Path) -> subprocess.CompletedProcess:
    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=repo, OMP_NUM_THREADS="1")
    args = ["-m", "nodegraph", "batch", str(project), "--sweep", "latent.seed=0", "--workers", "1"]
    return subprocess.run(
        [sys.executable, *args, "--output-dir", str(out), "--quiet", "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _snapshot(folder: Path) -> dict[str, tuple]:
    return {
        str(p.relative_to(folder)): (p.is_symlink(), p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
    }


@pytest.mark.parametrize(
    "name, target",
    [("batch.jsonl", "outside.txt"), (".batch.lock", "x"), ("latent.seed=0", "elsewhere")],
)
def test_a_symlink_in_the_batch_folder_is_refused(tmp_path, name, target):
    from tests.batch.conftest import save_drag_project

    (tmp_path / "project").mkdir()
    project = save_drag_project(tmp_path / "project", steps=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "outside.txt").write_text("theirs\n")
    (outside / "elsewhere").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(outside / target)
    before = _snapshot(outside)
    done = _batch(project, out)
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode in (1, 2), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert _snapshot(outside) == before
    said = [line for line in lines if name in line]
    assert said and all(len(line) < 300 for line in said), lines


def _one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode in (1, 2), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300, done.stderr
    return lines[0]


def test_batch_under_a_regular_file_is_one_line(tmp_path):
    from tests.batch.conftest import save_drag_project

    (tmp_path / "project").mkdir()
    project = save_drag_project(tmp_path / "project", steps=1)
    (tmp_path / "file").write_text("a file\n")
    line = _one_line(_batch(project, tmp_path / "file" / "out"))
    assert "is a file, not a folder" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_batch_into_a_read_only_folder_is_one_line(tmp_path):
    from tests.batch.conftest import save_drag_project

    (tmp_path / "project").mkdir()
    project = save_drag_project(tmp_path / "project", steps=1)
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        line = _one_line(_batch(project, out))
    finally:
        out.chmod(0o755)
    assert ".batch.lock" in line and list(out.iterdir()) == []


def test_a_full_disk_leaves_no_partial_manifest_row(tmp_path, monkeypatch):
    import errno

    from nodegraph.batching.manifest import MANIFEST, Manifest
    from nodegraph.errors import BatchError

    manifest = Manifest(tmp_path)
    manifest.append({"job": "a", "status": "ok"})
    before = (tmp_path / MANIFEST).read_bytes()
    real_write = os.write

    def full(fd, data):
        real_write(fd, bytes(data[:5]))  # part of the row reaches the disk, then it is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(BatchError) as caught:
        manifest.append({"job": "b", "status": "ok"})
    monkeypatch.setattr(os, "write", real_write)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 300 and "free some space" in message
    assert (tmp_path / MANIFEST).read_bytes() == before


def test_a_read_only_file_system_is_one_line(tmp_path, monkeypatch):
    import errno

    from nodegraph.batching.manifest import LOCK, locked
    from nodegraph.errors import BatchError

    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).endswith(LOCK):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(BatchError) as caught, locked(tmp_path):
        pass
    message = str(caught.value)
    assert "\n" not in message and LOCK in message and "another --output-dir" in message
    assert list(tmp_path.iterdir()) == []
