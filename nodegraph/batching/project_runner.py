"""One batch job inside a worker: the project with the job's overrides, evaluated as
`nodegraph run --set ... --output-dir DIR/<job-id>` would. The worker loads the project once
and keeps the graph between jobs, so its cache keeps what jobs share (the generator, first).

With `jobs_per_worker` K > 1 the worker runs up to K jobs at once, each on its own copy of the
graph, with one cache for all (so they share what they compute alike, such as a model) and one
JobShare, through which a node type may batch their work: what keeps a GPU busy."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from nodegraph.bound import BoundFolder
from nodegraph.cache import Cache
from nodegraph.context import JobShare
from nodegraph.errors import BatchError, GraphError, NodeError, ProjectError
from nodegraph.events import CancelToken
from nodegraph.overrides import apply_overrides
from nodegraph.trust import Permissions

from .manifest import Manifest
from .sweep import Job
from .workers import describe

# A worker keeps results between jobs, but a batch rarely reuses more than the generator.
WORKER_CACHE_BYTES = 1024**3


class ProjectRunner:
    """Runs jobs (Job) of one project; returns each job's manifest row."""

    def __init__(
        self,
        project: str,
        folder: str,
        device: str = "auto",
        permissions: Permissions | None = None,
        folder_identity: tuple[int, int] | None = None,
        jobs_per_worker: int = 1,
    ) -> None:
        from nodegraph.project import from_json, load

        self.folder = _open_batch_folder(folder, folder_identity)  # kept for the worker's life
        cache, share = Cache(WORKER_CACHE_BYTES), JobShare(max(1, jobs_per_worker))
        first = load(project)
        # The other jobs' copies come from the graph read, not from the file again: one read,
        # so a file changed meanwhile cannot give the jobs different projects.
        copies = [from_json(first.to_json(), source=project) for _ in range(share.jobs - 1)]
        self._graphs: queue.Queue = queue.Queue()  # the graphs no job is using
        for graph in [first, *copies]:
            graph.path = first.path
            graph.cache, graph.share = cache, share
            graph.permissions = permissions or Permissions()
            self._graphs.put(graph)
        self.manifest = Manifest(folder)
        self.device = device
        self._cancels: set[CancelToken] = set()  # the running jobs'
        self._stopped = False
        self._lock = threading.Lock()
        self._noted: dict[str, dict[str, Any]] = {}  # fingerprint digest -> facts its node noted

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for cancel in self._cancels:
                cancel.set()

    def run(self, job: Job) -> dict[str, Any]:
        row: dict[str, Any] = {"job": job.id, "overrides": job.overrides, "status": "cancelled",
                               "seconds": 0.0, "outputs": [], "error": None, "nodes": {}}  # fmt: skip
        cancel = CancelToken()
        with self._lock:
            if self._stopped:
                return row
            self._cancels.add(cancel)
        graph = self._graphs.get()
        try:
            return self._run(graph, job, cancel, row)
        finally:
            self._graphs.put(graph)
            with self._lock:
                self._cancels.discard(cancel)

    def _run(self, graph: Any, job: Job, cancel: CancelToken, row: dict[str, Any]) -> dict[str, Any]:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            with graph.transaction(f"batch job {job.id}"):
                apply_overrides(graph, job.overrides)
        except (GraphError, ProjectError) as exc:
            return {**row, "status": "failed", "error": describe(exc)}
        try:
            self._evaluate(graph, job, cancel, row)
        finally:
            graph.undo()  # back to the project's own params for the next job
            row["seconds"] = round(time.perf_counter() - start, 3)
            row["cpu_seconds"] = round(
                time.process_time() - cpu_start, 3
            )  # all this worker's threads
        return row

    def _evaluate(self, graph: Any, job: Job, cancel: CancelToken, row: dict[str, Any]) -> None:
        try:
            with self.folder.folder([job.id]) as folder:
                report = graph.evaluate(device=self.device, cancel=cancel, output_dir=folder)
            row["status"] = "cancelled" if report.cancelled else "ok"
        except NodeError as exc:
            report = exc.report
            row.update(status="failed", error=describe(exc))
        except (GraphError, ProjectError) as exc:  # ProjectError: the trust rule refused a write
            report = None
            row.update(status="failed", error=describe(exc))
        if report is not None:
            row["device"] = report.device
            row["outputs"] = [self.manifest.record_path(p) for p in report.written]
            row["nodes"] = self._facts(report)
            row["read_outside"] = [
                f"{path} (node {node_id!r})" for node_id, path in report.read_outside
            ]

    def _facts(self, report: Any) -> dict[str, dict[str, Any]]:
        """What each node noted (ctx.note), by node id; a node this job took from the cache
        reports what it noted when an earlier job computed that same result."""
        facts = {}
        for node_id, record in report.nodes.items():
            digest = record.fingerprint.digest if record.fingerprint is not None else None
            if record.status == "computed" and record.facts:
                facts[node_id] = self._noted[digest] = dict(record.facts)
            elif record.status == "cached" and digest in self._noted:
                facts[node_id] = self._noted[digest]
        return facts


def _open_batch_folder(folder: str, identity: tuple[int, int] | None) -> BoundFolder:
    """The batch folder, opened once by the worker; BatchError when it is not the folder the
    driver opened (`identity`, its (st_dev, st_ino)): moved, or replaced by another or a link."""
    try:
        handle = BoundFolder.open(folder, create=False)
    except (ProjectError, OSError) as exc:
        raise BatchError(f"batch folder {folder!r}: {exc}; choose another --output-dir") from None
    if identity is not None and handle.identity() != tuple(identity):
        handle.close()
        raise BatchError(
            f"batch folder {folder!r} is not the folder the driver opened (moved or replaced "
            "while the batch started); nothing was written there: run the batch again"
        )
    return handle
