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
