"""Runs `python -m nodegraph ...` in a fresh process as a user would and measures it: exit code,
stderr, wall seconds and peak resident memory (psutil, sampled every 20 ms)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = str(Path(__file__).resolve().parents[2])
PEAK_MB = 500  # issue 26: every hostile input is refused within 500 MB


def run_cli(args: list[str], tmp: Path, **popen) -> tuple[int, str, float, float]:
    """(exit code, stderr, wall seconds, peak RSS in MB) of `python -m nodegraph ARGS`."""
    env = dict(os.environ, PYTHONPATH=REPO, HOME=str(tmp), OMP_NUM_THREADS="1")
    start = time.perf_counter()
    child = psutil.Popen(
        [sys.executable, "-m", "nodegraph", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen,
    )  # fmt: skip
    peak = 0.0
    while child.poll() is None:
        try:
            peak = max(peak, child.memory_info().rss / 1e6)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    _, err = child.communicate()
    return child.returncode, err.decode(), time.perf_counter() - start, peak


def check(tmp: Path, args: list[str], code: int, fragment: str, **popen) -> str:
    """Asserts exit `code`, one stderr line under 300 characters holding `fragment`, and a
    peak under PEAK_MB; returns the line."""
    rc, err, seconds, peak = run_cli(args, tmp, **popen)
    lines = err.strip().splitlines()
    assert rc == code, err[-2000:]
    assert len(lines) == 1 and len(lines[0]) < 300, lines[:3]
    assert fragment in lines[0], lines[0]
    assert peak < PEAK_MB, peak
    print(f"{args[0]} -> {rc} {seconds:.2f}s {peak:.0f}MB {lines[0]}")
    return lines[0]
