"""Issue 26, row 11, end to end: `nodegraph batch` of a project whose generator is read from
outside its folder records the read in every job's manifest row and shows it in the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.security.hostile import World, render_graph, save_project
from tests.security.subprocess_cli import REPO


def test_batch_records_and_shows_reads_outside_the_project_folder(tmp_path):
    world = World(tmp_path)
    project = save_project(world, render_graph(world, "x.png"))  # the checkpoint: world.models
    out = world.out / "batch"
    env = dict(os.environ, PYTHONPATH=REPO, HOME=str(world.home), OMP_NUM_THREADS="1")
    argv = ["batch", project, "--sweep", "latent.seed=0,1", "--workers", "1", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", "nodegraph", *argv, "--output-dir", str(out), "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    read = f"{world.checkpoint()} (node 'gen')"
    rows = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]
    assert [row["read_outside"] for row in rows] == [[read], [read]]
    said = [line for line in done.stdout.splitlines() if "read outside the project folder" in line]
    assert len(said) == 1 and f"{read} in 2 jobs" in said[0], done.stdout
