"""The local engine: worker processes on this machine, a tiny generator, real node types."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

from nodegraph import cli
from nodegraph.batching import batch
from tests.batch.conftest import POINTS, manifest_rows, pixels


def test_a_grid_of_two_params_gives_a_folder_and_a_manifest_row_per_job(drag_project, tmp_path):
    out = tmp_path / "out"
    rows = batch(drag_project, ["latent.seed=0:2", "drag.steps=2,3"], output_dir=out, workers=2, device="cpu", progress=False)
    assert [row["job"] for row in rows] == [
        "latent.seed=0,drag.steps=2", "latent.seed=0,drag.steps=3",
        "latent.seed=1,drag.steps=2", "latent.seed=1,drag.steps=3",
    ]  # fmt: skip
    assert all(row["status"] == "ok" and row["outputs"] == [f"{row['job']}/img.png"] for row in rows)
    assert manifest_rows(out) == rows
    for row in rows:  # what the drag reported: it ran its budget unless it converged first
        drag = row["nodes"]["drag"]
        assert drag["steps"] == row["overrides"]["drag.steps"] or drag["converged"]
        assert drag["distance_px"] >= drag["mean_distance_px"] >= 0
    assert not np.array_equal(pixels(out / rows[0]["outputs"][0]), pixels(out / rows[2]["outputs"][0]))


def test_a_job_is_what_nodegraph_run_makes_with_the_same_overrides(drag_project, tmp_path):
    rows = batch(drag_project, ["latent.seed=3"], ["drag.steps=4"], output_dir=tmp_path / "out", workers=1, device="cpu", progress=False)
    code = cli.main(["run", str(drag_project), "--set", "latent.seed=3", "--set", "drag.steps=4",
                     "--output-dir", str(tmp_path / "single"), "--device", "cpu", "--quiet"])  # fmt: skip
    assert code == 0
    assert rows[0]["overrides"] == {"drag.steps": 4, "latent.seed": 3}
    assert np.array_equal(pixels(tmp_path / "out" / rows[0]["outputs"][0]), pixels(tmp_path / "single" / "img.png"))


def test_a_failed_job_is_recorded_with_its_error_and_the_others_finish(drag_project, tmp_path, capsys):
    values = tmp_path / "points.jsonl"
    values.write_text(f"{POINTS}\n[]\n".replace("'", '"'))
    out = tmp_path / "out"
    code = cli.main(["batch", str(drag_project), "--sweep", f"points.points=@{values}", "--output-dir", str(out),
                     "--workers", "1", "--device", "cpu", "--quiet"])  # fmt: skip
    assert code == 1
    ok, failed = manifest_rows(out)
    assert ok["status"] == "ok" and (out / ok["outputs"][0]).is_file()
    assert failed["status"] == "failed" and failed["outputs"] == []
    assert "node 'drag' (DragOptimizer) failed" in failed["error"] and "got no points" in failed["error"]
    assert f"failed {failed['job']}: node 'drag'" in capsys.readouterr().out


def test_a_rerun_skips_done_jobs_and_redoes_those_whose_outputs_are_gone(drag_project, tmp_path):
    out = tmp_path / "out"
    first = batch(drag_project, ["latent.seed=0:2"], output_dir=out, workers=1, device="cpu", progress=False)
    (out / first[1]["outputs"][0]).unlink()
    second = batch(drag_project, ["latent.seed=0:3"], output_dir=out, workers=1, device="cpu", progress=False)
    assert second[0] == first[0]  # skipped: the same row, same worker and seconds
    assert second[1]["worker"] != first[1]["worker"] and (out / second[1]["outputs"][0]).is_file()
    assert second[2]["status"] == "ok"
    assert manifest_rows(out) == second


def test_ctrl_c_exits_130_and_keeps_the_finished_jobs(drag_project, tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "nodegraph", "batch", str(drag_project), "--sweep", "latent.seed=0:40",
               "--set", "drag.steps=40", "--set", "drag.stop_px=0", "--output-dir", str(out),
               "--workers", "1", "--device", "cpu", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        deadline = time.monotonic() + 180
        while not _ok_rows(out) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert _ok_rows(out), "no job finished in time"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    rows = manifest_rows(out)
    done = [row for row in rows if row["status"] == "ok"]
    assert 1 <= len(done) < 40 and all((out / row["outputs"][0]).is_file() for row in done)
    assert {row["status"] for row in rows} <= {"ok", "cancelled"}
    assert "interrupted" in stdout


def _ok_rows(out) -> list[dict]:
    try:
        return [row for row in manifest_rows(out) if row["status"] == "ok"]
    except (FileNotFoundError, ValueError):
        return []


def test_bad_sweeps_exit_2_before_any_job_runs(drag_project, tmp_path, capsys):
    code = cli.main(["batch", str(drag_project), "--sweep", "latent.seed=a:b", "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert "node 'latent' (Latent) param 'seed': 'a:b' is not an int" in capsys.readouterr().err
    assert not (tmp_path / "out" / "batch.jsonl").exists()


def test_jobs_per_worker_run_at_once_with_the_same_pictures(drag_project, tmp_path):
    """--jobs-per-worker 3: one worker runs three jobs at once, their drags stepped together; the
    pictures are those of one job at a time up to float rounding (a batch sums in another order)."""
    seeds = ["latent.seed=0:4"]
    alone = batch(drag_project, seeds, output_dir=tmp_path / "alone", workers=1, device="cpu", progress=False)
    together = batch(drag_project, seeds, output_dir=tmp_path / "together", workers=1, device="cpu",
                     progress=False, jobs_per_worker=3)  # fmt: skip
    assert [row["status"] for row in together] == ["ok"] * 4
    for one, many in zip(alone, together):
        assert many["nodes"]["drag"]["steps"] == one["nodes"]["drag"]["steps"]
        a = pixels(tmp_path / "alone" / one["outputs"][0]).astype(int)
        b = pixels(tmp_path / "together" / many["outputs"][0]).astype(int)
        assert np.abs(a - b).max() <= 2


def test_a_workers_jobs_at_once_share_one_drag_batch(drag_project, tmp_path, monkeypatch):
    """Inside a worker: two jobs in two threads share the generator (one cache) and one batcher,
    which steps both drags at once."""
    import threading

    from nodegraph.batching.project_runner import ProjectRunner
    from nodegraph.batching.sweep import Job
    from nodegraph.bound import BoundFolder
    from nodes.drag.batcher import DragBatcher

    # Both drags are handed over before either steps: on a loaded machine one job's graph could
    # otherwise reach its drag after the other's drag had ended, and there would be nothing to share.
    handed_over = threading.Barrier(2, timeout=60)
    drag = DragBatcher.drag

    def drag_when_both_are_here(self, *args, **kwargs):
        handed_over.wait()
        return drag(self, *args, **kwargs)

    monkeypatch.setattr(DragBatcher, "drag", drag_when_both_are_here)

    out = tmp_path / "out"
    out.mkdir()
    BoundFolder.open(str(out), create=False).close()
    runner = ProjectRunner(str(drag_project), str(out), "cpu", jobs_per_worker=2)
    jobs = [Job(f"latent.seed={seed}", {"latent.seed": seed}) for seed in (0, 1)]
    rows: list = [None, None]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        rows[i] = runner.run(jobs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [row["status"] for row in rows] == ["ok", "ok"], rows
    batcher = runner._graphs.get().share.get("nodes.drag.batcher", lambda: None)
    total = sum(row["nodes"]["drag"]["steps"] for row in rows)
    assert batcher is not None and batcher.steps < total
