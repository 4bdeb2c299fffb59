"""Batch runs: a project over many seeds or settings, on local worker processes or on Ray.

`batch(project, sweeps=["latent.seed=0:32"], output_dir="out")` (also `nodegraph.batch`) runs
one job per combination of the sweeps' values and returns the manifest rows (DIR/batch.jsonl)."""

from nodegraph.batching.run import BatchResult, BatchSpec, BatchSummary, batch, plan, run_batch
from nodegraph.batching.sweep import Job, Sweep, make_jobs, parse_sweep

__all__ = [
    "BatchResult",
    "BatchSpec",
    "BatchSummary",
    "Job",
    "Sweep",
    "batch",
    "make_jobs",
    "parse_sweep",
    "plan",
    "run_batch",
]
