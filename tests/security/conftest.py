"""Fixtures for hostile-input tests: a World of folders with HOME inside it, a snapshot of every
file outside the output folder, and a deadline so a regression fails instead of hanging."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

from tests.security.hostile import World

DEADLINE_S = 60  # a guard against hangs (a FIFO blocks forever), not a speed target


@pytest.fixture(autouse=True)
def deadline():
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"the case ran past the {DEADLINE_S} s guard: something hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return World(tmp_path)


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every file and folder under root (symlinks not followed) with its size and content hash,
    leaving out `skip` (the output folder)."""
    state = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if skip is not None and (here == skip or skip in here.parents):
            dirs.clear()
            continue
        for name in dirs + files:
            path = here / name
            if path == skip:
                continue
            if path.is_symlink() or not path.is_file():
                state[str(path)] = ("entry",)
            else:
                state[str(path)] = (
                    path.stat().st_size,
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
    return state
