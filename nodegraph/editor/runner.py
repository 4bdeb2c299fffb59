"""Evaluation on a worker thread: the UI thread submits runs, the worker posts engine events.

Only the UI thread touches Dear PyGui; it drains `Runner.events` once per frame. Every job
kind (run, live, values, render) is cancelled when the graph it reads changes, when the graph
is replaced, and on shutdown. The worker runs at a lower OS priority, so the UI keeps its frames."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nodegraph import CancelToken, Graph, events
from nodegraph.editor.queries import run_closure, upstream_signature

KINDS = ("run", "live", "values", "render")
WORKER_NICENESS = 3  # below the UI thread: a drag must not starve the frames that show it


@dataclass
class Job:
    """One evaluation: `targets` of `graph` (None = the graph's outputs); `kind` says why."""

    graph: Graph
    targets: list[str] | None
    kind: str = "run"  # run | live | values | render
    tag: Any = None  # what the requester wants back with the result (e.g. which panel image)
    cancel: CancelToken = field(default_factory=CancelToken)
    nodes: frozenset[str] = frozenset()  # what it reads; set by submit
    signatures: dict[str, str] = field(default_factory=dict)  # their upstream states, at submit

    def reads(self, node_id: str | None) -> bool:
        """True when a change of `node_id` (None: of anything) makes this job's results stale."""
        return node_id is None or node_id in self.nodes


@dataclass
class JobStarted:
    job: Job


@dataclass
class JobDone:
    """A job ended; `report` is None when the engine refused to start (then `error` says why)."""

    job: Job
    report: Any = None
    error: Exception | None = None
    seconds: float = 0.0


@dataclass
class EngineEvent:
    """An event from nodegraph.events, tagged with the job that produced it."""

    job: Job
    event: Any


class Runner:
    """Runs one job at a time on a daemon thread; a newer submitted job replaces a waiting one."""

    def __init__(self, device: str = "auto") -> None:
        self.device = device
        self.events: queue.Queue = queue.Queue()
        self._waiting: list[Job] = []
        self._wake = threading.Condition()
        self.current: Job | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="nodegraph-runner", daemon=True)
        self._thread.start()

    # --- UI thread -----------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        """Queues `job`; a waiting job of the same kind is dropped (the newer one supersedes it)."""
        job.nodes = frozenset(
            run_closure(job.graph, job.targets or [str(n) for n in job.graph.nodes])
        )
        job.signatures = {n: upstream_signature(job.graph, n) for n in job.nodes}
        with self._wake:
            self._waiting = [
                j for j in self._waiting if j.kind != job.kind or j.graph is not job.graph
            ]
            self._waiting.append(job)
            self._wake.notify()
        return job

    def cancel(self, kinds: tuple[str, ...] = KINDS) -> None:
        """Stops the running job (through its cancel token) and drops waiting ones of `kinds`."""
        with self._wake:
            self._waiting = [j for j in self._waiting if j.kind not in kinds]
            if self.current is not None and self.current.kind in kinds:
                self.current.cancel.cancel()

    def finish(self, kinds: tuple[str, ...] = ("run", "live")) -> bool:
        """Stop that keeps the running node's result so far (CancelToken.finish); drops the
        waiting jobs of `kinds`. False when no such job runs or waits."""
        with self._wake:
            had = any(j.kind in kinds for j in self._waiting)
            self._waiting = [j for j in self._waiting if j.kind not in kinds]
            if self.current is not None and self.current.kind in kinds:
                self.current.cancel.finish()
                return True
            return had

    def invalidate(self, node_id: str | None) -> None:
        """The graph changed at `node_id` (None: anywhere): cancel every job that reads it."""
        with self._wake:
            self._waiting = [j for j in self._waiting if not j.reads(node_id)]
            if self.current is not None and self.current.reads(node_id):
                self.current.cancel.cancel()

    def running(self, kinds: tuple[str, ...] = ("run", "live")) -> bool:
        with self._wake:
            current = self.current is not None and self.current.kind in kinds
            return current or any(j.kind in kinds for j in self._waiting)

    @property
    def busy(self) -> bool:
        with self._wake:
            return self.current is not None or bool(self._waiting)

    def drain(self, handle: Callable[[Any], None], budget_s: float = 0.02) -> int:
        """Hands queued messages to `handle` on the calling (UI) thread, for at most `budget_s`;
        of several progress reports of one node only the newest is handed (a drag may step
        faster than the UI draws; the newest with a preview image is kept too). Returns how many
        messages were taken."""
        end, taken = time.perf_counter() + budget_s, []
        while time.perf_counter() < end:
            try:
                taken.append(self.events.get_nowait())
            except queue.Empty:
                break
        newest = {}
        for i, message in enumerate(taken):
            if _progress_key(message) is not None:
                newest[_progress_key(message)] = i
        for i, message in enumerate(taken):
            key = _progress_key(message)
            if key is None or newest[key] == i:
                handle(message)
        return len(taken)

    def wait_idle(self, timeout: float, pump: Callable[[], None] | None = None) -> bool:
        """Waits until no job runs or waits, calling `pump` meanwhile (to render frames)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.busy and self.events.empty():
                return True
            if pump is not None:
                pump()
            time.sleep(0.005)  # leave the worker the CPU it needs
        return False

    def shutdown(self) -> None:
        self.cancel()
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=5)

    # --- worker thread -------------------------------------------------------------------
    def _work(self) -> None:
        _lower_priority()
        while True:
            with self._wake:
                while not self._waiting and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                job = self.current = self._waiting.pop(0)
            self._run(job)
            with self._wake:
                self.current = None

    def _run(self, job: Job) -> None:
        self.events.put(JobStarted(job))
        start = time.perf_counter()
        try:
            report = job.graph.evaluate(
                job.targets,
                device=self.device,
                on_event=lambda event: self.events.put(EngineEvent(job, event)),
                cancel=job.cancel,
                raise_on_error=False,
            )
        except Exception as exc:  # GraphError (unlinked input, bad device) or a bug: show it
            self.events.put(JobDone(job, None, exc, time.perf_counter() - start))
            return
        self.events.put(JobDone(job, report, None, time.perf_counter() - start))


def _progress_key(message: Any) -> tuple | None:
    if isinstance(message, EngineEvent) and isinstance(message.event, events.NodeProgress):
        event = message.event
        return (id(message.job), event.node_id, event.preview is not None)
    return None


def _lower_priority() -> None:
    """Lowers this thread's scheduling priority (Linux: per thread; threads it starts, such as
    torch's workers, inherit it). Elsewhere, or when refused, nothing changes."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)
    except (AttributeError, OSError):
        pass
