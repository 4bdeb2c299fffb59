"""`nodegraph batch PROJECT --sweep NODE.PARAM=SPEC ... --output-dir DIR`: the command line of
batch runs. Exit 0 every job ok (or done before), 1 a job failed, 2 bad project or arguments,
130 interrupted (finished jobs kept; a re-run does the rest)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nodegraph.errors import BatchError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """SPEC is a range (0:32, 0:100:5; the end is excluded), a list (0.5,0.7,1.0) or @FILE
(one value per line, JSON or text). Several sweeps form a grid; --zip pairs their values.
Job i writes under DIR/<job-id>/ (e.g. DIR/latent.seed=3/); DIR/batch.jsonl has a row per job.
A re-run skips the jobs done; failed and cancelled ones run again."""


def add_parser(sub: Any, add_trust_flags: Any) -> argparse.ArgumentParser:
    """Adds `batch` to the CLI's subparsers; `add_trust_flags(parser)` adds the flags by which
    the user lets a project write outside its output folder, the same as for `run`."""
    parser = sub.add_parser(
        "batch",
        help="run a project over many seeds or settings (local worker processes or Ray)",
        description="Run a project once per combination of swept param values.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("project", help="X.ngproj.json, or a PNG with an embedded project")
    parser.add_argument("--sweep", action="append", default=[], metavar="NODE.PARAM=SPEC",
                        help="a param and its values: a range 0:32, a list 0.5,0.7 or @file")
    parser.add_argument("--zip", action="store_true", help="pair the sweeps' values (same lengths) instead of a grid")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override a param in every job; VALUE is JSON or a string")
    parser.add_argument("--output-dir", required=True, help="folder of the job folders and the manifest")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local worker processes (default) or Ray (pip install 'nodegraph[ray]')")
    parser.add_argument("--workers", type=int, help="worker processes / Ray actors (default: one per core, or per GPU on CUDA)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    parser.add_argument("--ray-address", help="Ray cluster to use (default: RAY_ADDRESS, else a local Ray for this run)")
    parser.add_argument("--cpus-per-job", type=float,
                        help="CPUs (torch threads) per job (default: the cores shared out among local workers; 1 on Ray)")
    parser.add_argument("--gpus-per-job", type=float, default=0.0, help="Ray: GPUs per job (e.g. 1, or 0.5 to share)")
    parser.add_argument("--jobs-per-worker", "--drags-per-worker", type=int, default=1, metavar="K",
                        help="jobs a worker runs at once on its copies of the project, sharing its cache; their drags are "
                             "stepped as one batch (for a GPU, which one drag leaves idle; default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    add_trust_flags(parser)
    return parser


def cmd_batch(args: argparse.Namespace, permissions: Any) -> int:
    from nodegraph.batching.dispatch import EngineOptions
    from nodegraph.batching.run import BatchSpec, run_batch
    from nodegraph.cli import print_error

    spec = BatchSpec(
        args.project, args.output_dir, args.sweep, args.set, args.zip, args.device, permissions,
        EngineOptions(args.engine, args.workers, args.ray_address, args.cpus_per_job, args.gpus_per_job, args.jobs_per_worker),
    )  # fmt: skip
    try:
        result = run_batch(spec, progress=not args.quiet)
    except BatchError as exc:
        print_error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:  # a second Ctrl+C outside the jobs (planning, tidying the manifest)
        print("nodegraph: aborted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(result.summary)
    if result.summary.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if any(row["status"] == "failed" for row in result.rows) else EXIT_OK
