"""nodegraph.atomic: the one atomic write (projects, exports, checkpoints, training state)."""

from __future__ import annotations

import os
import threading

import pytest

from nodegraph import atomic


def test_the_new_file_replaces_the_old_one_whole(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    atomic.atomic_write(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="renderer crashed"):
        with atomic.atomic_file(path) as f:
            f.write(b"half")
            raise RuntimeError("renderer crashed")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_the_mode_follows_the_umask_without_changing_it(tmp_path, monkeypatch):
    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", lambda mask: pytest.fail("os.umask was called"))
        atomic.atomic_write(tmp_path / "out.bin", b"x")
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640


def test_writers_on_threads_each_leave_a_whole_file(tmp_path):
    paths = [tmp_path / f"f{i}.bin" for i in range(8)]
    threads = [threading.Thread(target=atomic.atomic_write, args=(p, p.name.encode() * 1000)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(p.read_bytes() == p.name.encode() * 1000 for p in paths)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(atomic.TEMP_SUFFIX)]
