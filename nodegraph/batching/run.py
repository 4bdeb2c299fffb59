"""A batch run: a project over many seeds or settings. Plans the jobs from the sweeps (checking
every override before anything runs), skips the jobs already done, runs the rest on the chosen
engine with a progress bar, records each job in the manifest as it ends, and sums up."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodegraph.bound import BoundFolder
from nodegraph.errors import BatchError, GraphError, ProjectError
from nodegraph.events import CancelToken
from nodegraph.overrides import apply_overrides, parse_assignment, parse_value
from nodegraph.trust import Permissions

from .dispatch import EngineOptions, open_pool, run_tasks
from .manifest import Manifest, locked
from .project_runner import ProjectRunner
from .sweep import Job, Sweep, make_jobs, parse_sweep
from .workers import Outcome, describe, worker_name


@dataclass
class BatchSpec:
    """Everything a batch needs. `sweeps`: "NODE.PARAM=SPEC" strings or Sweep objects; `sets`:
    "NODE.PARAM=VALUE" strings or a {"node.param": value} mapping, applied to every job."""

    project: str | Path
    output_dir: str | Path
    sweeps: Iterable[str | Sweep] = ()
    sets: Iterable[str] | Mapping[str, Any] = ()
    zipped: bool = False
    device: str = "auto"
    permissions: Permissions = field(default_factory=Permissions)
    engine: EngineOptions = field(default_factory=EngineOptions)

    @property
    def folder(self) -> Path:
        return Path(self.output_dir).expanduser().resolve()


@dataclass
class BatchSummary:
    """What a batch did: counts, time, and the failures by job."""

    jobs: int
    done_before: int = 0
    ok: int = 0
    failed: int = 0
    cancelled: int = 0
    not_run: int = 0
    seconds: float = 0.0
    engine: str = "local"
    workers: int = 0
    jobs_per_worker: int = 1
    interrupted: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    read_outside: dict[str, list[str]] = field(default_factory=dict)  # what was read -> its jobs
    manifest: str = ""

    @property
    def ran(self) -> int:
        return self.ok + self.failed

    @property
    def jobs_per_minute(self) -> float:
        return 60.0 * self.ran / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        lines = [
            f"batch: {self.jobs} jobs: {self.ok} ok, {self.failed} failed, {self.done_before} already done"
            + (f", {self.cancelled} cancelled" if self.cancelled else "")
            + (f", {self.not_run} not run" if self.not_run else "")
            + (" (interrupted)" if self.interrupted else ""),
        ]
        if self.ran or self.cancelled:
            lines.append(f"  {self.ran} jobs in {self.seconds:.1f} s ({self.jobs_per_minute:.1f} jobs/min) "
                         f"on {self.workers} {self.engine} workers"
                         + (f", {self.jobs_per_worker} jobs each at once" if self.jobs_per_worker > 1 else ""))  # fmt: skip
        lines += [f"  failed {job}: {error}" for job, error in self.failures]
        lines += [f"  read outside the project folder: {what} in {len(jobs)} jobs ({', '.join(jobs[:3])}"
                  f"{', ...' if len(jobs) > 3 else ''})" for what, jobs in self.read_outside.items()]  # fmt: skip
        lines.append(f"  manifest: {self.manifest}")
        return "\n".join(lines)


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]  # one per job that has a row, in job order
    summary: BatchSummary


def batch(
    project: str | Path,
    sweeps: Iterable[str | Sweep] = (),
    sets: Iterable[str] | Mapping[str, Any] = (),
    output_dir: str | Path = "batch",
    zipped: bool = False,
    engine: str = "local",
    workers: int | None = None,
    device: str = "auto",
    ray_address: str | None = None,
    gpus_per_job: float = 0.0,
    cpus_per_job: float | None = None,
    permissions: Permissions | None = None,
    progress: bool = True,
    jobs_per_worker: int = 1,
) -> list[dict[str, Any]]:
    """Runs `project` once per combination of the sweeps' values (see `nodegraph batch --help`);
    returns the manifest rows of its jobs. BatchError (a ValueError) before any job runs when
    a sweep, an override or the project is wrong."""
    spec = BatchSpec(
        project, output_dir, sweeps, sets, zipped, device, permissions or Permissions(),
        EngineOptions(engine, workers, ray_address, cpus_per_job, gpus_per_job, jobs_per_worker),
    )  # fmt: skip
    result = run_batch(spec, progress)
    if progress:
        print(result.summary, file=sys.stderr)
    return result.rows


def plan(spec: BatchSpec) -> list[Job]:
    """The jobs of `spec`, each checked against the project's node types: a bad override is a
    BatchError now, not a failure in every job later."""
    from nodegraph.errors import ProjectError
    from nodegraph.project import load

    try:
        graph = load(spec.project)
    except ProjectError as exc:
        raise BatchError(str(exc)) from None
    sweeps = [s if isinstance(s, Sweep) else parse_sweep(s) for s in spec.sweeps]
    jobs = make_jobs(sweeps, _sets(spec.sets), spec.zipped)
    for job in jobs:
        try:
            with graph.transaction("check"):
                apply_overrides(graph, job.overrides)
        except GraphError as exc:
            raise BatchError(f"job {job.id}: {exc}") from None
        graph.undo()
    return jobs


def _sets(sets: Iterable[str] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(sets, Mapping):
        return dict(sets)
    try:
        parsed = [parse_assignment(text) for text in sets]
    except GraphError as exc:
        raise BatchError(str(exc)) from None
    return {f"{node}.{param}": parse_value(text) for node, param, text in parsed}


def run_batch(spec: BatchSpec, progress: bool = True) -> BatchResult:
    """Plans, skips what is done, runs the rest; the first Ctrl+C stops cleanly (running jobs
    are cancelled, finished ones kept), a second one ends the workers at once."""
    from nodegraph.cli import sigint_cancels

    jobs = plan(spec)
    spec.engine.check()
    folder = spec.folder
    with locked(folder) as handle:
        manifest = Manifest(folder, handle)
        rows = manifest.rows()
        todo = [job for job in jobs if not manifest.is_done(job, rows.get(job.id))]
        summary = BatchSummary(len(jobs), len(jobs) - len(todo), engine=spec.engine.describe(),
                               manifest=str(manifest.path))  # fmt: skip
        if todo:
            manifest.check_room()
        stop = CancelToken()
        start = time.perf_counter()
        with sigint_cancels(stop), _Progress(len(todo), progress and bool(todo)) as bar:
            recorder = _Recorder(manifest, {job.id: job for job in todo}, rows, summary, bar)
            refused = _blocked_job_folders(handle, todo)
            for job_id, error in refused.items():  # failed now: no worker starts for them
                recorder(Outcome(job_id, None, error, worker_name()))
            todo = [job for job in todo if job.id not in refused]
            not_run = _run(spec, todo, recorder, stop, summary, handle.identity())
        summary.seconds = time.perf_counter() - start
        summary.not_run = len(not_run)
        summary.interrupted = summary.interrupted or stop.is_set()
        manifest.tidy([job.id for job in jobs])
    return BatchResult([rows[job.id] for job in jobs if job.id in rows], summary)


def _blocked_job_folders(handle: BoundFolder, todo: list[Job]) -> dict[str, str]:
    """The jobs whose folder already stands there as a link or a file (a worker would refuse
    it): job id -> the refusal, found by the driver before any worker starts."""
    blocked = {}
    for job in todo:
        if handle.lstat(job.id) is None:
            continue
        try:
            handle.folder([job.id], create=False).close()
        except (ProjectError, OSError) as exc:
            blocked[job.id] = describe(exc)
    return blocked


def _run(spec: BatchSpec, todo: list[Job], recorder: _Recorder, stop: CancelToken, summary: BatchSummary,
         identity: tuple[int, int]) -> list[str]:  # fmt: skip
    """Runs `todo` on the engine; the ids of the jobs that never started. Local workers check
    that the folder they open is the driver's (`identity`); on a cluster st_dev differs."""
    if not todo:
        return []
    expected = identity if spec.engine.engine == "local" else None
    factory = functools.partial(ProjectRunner, str(Path(spec.project).resolve()), str(spec.folder),
                                spec.device, spec.permissions, expected, spec.engine.jobs_per_worker)  # fmt: skip
    ended: set[str] = set()

    def on_outcome(outcome: Outcome) -> None:
        ended.add(outcome.key)
        recorder(outcome)

    try:
        with open_pool(spec.engine, factory, len(todo), spec.device) as pool:
            summary.workers = pool.capacity // spec.engine.jobs_per_worker
            summary.jobs_per_worker = spec.engine.jobs_per_worker
            return run_tasks(pool, [(job.id, job) for job in todo], on_outcome, stop.is_set)
    except KeyboardInterrupt:  # the second Ctrl+C: the pool has ended its workers
        summary.interrupted = True
        return [job.id for job in todo if job.id not in ended]


class _Recorder:
    """Turns each outcome into its manifest row: appended at once, counted, shown."""

    def __init__(self, manifest: Manifest, jobs: dict[str, Job], rows: dict[str, dict], summary: BatchSummary, bar: Any) -> None:
        self.manifest, self.jobs, self.rows, self.summary, self.bar = manifest, jobs, rows, summary, bar

    def __call__(self, outcome: Outcome) -> None:
        job = self.jobs[outcome.key]
        row = outcome.result if outcome.result is not None else {
            "job": job.id, "overrides": job.overrides, "status": "failed", "seconds": 0.0,
            "outputs": [], "error": outcome.error, "nodes": {},
        }  # fmt: skip
        row["worker"] = outcome.worker
        self._check_outputs(row)
        self.manifest.append(row)
        self.rows[job.id] = row
        for what in row.get("read_outside") or []:
            self.summary.read_outside.setdefault(what, []).append(job.id)
        status = row["status"]
        if status == "ok":
            self.summary.ok += 1
        elif status == "failed":
            self.summary.failed += 1
            self.summary.failures.append((job.id, str(row["error"])))
            if not self.bar.disable:
                self.bar.write(f"failed {job.id}: {row['error']}", file=sys.stderr)
        else:
            self.summary.cancelled += 1
        self.bar.set_postfix_str(f"ok {self.summary.ok}, failed {self.summary.failed}", refresh=False)
        self.bar.update(1)

    def _check_outputs(self, row: dict[str, Any]) -> None:
        """On a cluster the workers write where the driver must see it: a shared folder."""
        missing = [p for p in row["outputs"] if not self.manifest.output_path(p).exists()]
        if row["status"] == "ok" and missing:
            row["status"] = "failed"
            row["error"] = (
                f"the outputs {', '.join(missing)} are not in {str(self.manifest.folder)!r} as seen "
                "from here: on a cluster, --output-dir must be a folder every machine shares"
            )


class _Progress:
    """A tqdm bar over jobs on stderr (a stand-in that does nothing when progress is off)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.bar = total, enabled, None

    def __enter__(self) -> Any:
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, desc="batch", unit="job", file=sys.stderr, disable=not self.enabled)
        return self.bar

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()
