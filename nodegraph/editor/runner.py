"""Evaluation on a worker thread: the UI thread submits runs, the worker posts engine events.

Only the UI thread touches Dear PyGui; it drains `Runner.events` once per frame."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nodegraph import CancelToken, Graph


@dataclass
class Job:
    """One evaluation: `targets` of `graph` (None = the graph's outputs); `kind` says why."""

    graph: Graph
    targets: list[str] | None
    kind: str = "run"  # run | live | preview
    tag: Any = None  # what the requester wants back with the result (e.g. which panel image)
    cancel: CancelToken = field(default_factory=CancelToken)


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
        with self._wake:
            self._waiting = [
                j for j in self._waiting if j.kind != job.kind or j.graph is not job.graph
            ]
            self._waiting.append(job)
            self._wake.notify()
        return job

    def cancel(self, kinds: tuple[str, ...] = ("run", "live", "preview")) -> None:
        """Stops the running job (through its cancel token) and drops waiting ones of `kinds`."""
        with self._wake:
            self._waiting = [j for j in self._waiting if j.kind not in kinds]
            if self.current is not None and self.current.kind in kinds:
                self.current.cancel.cancel()

    @property
    def busy(self) -> bool:
        with self._wake:
            return self.current is not None or bool(self._waiting)

    def drain(self, handle: Callable[[Any], None], budget_s: float = 0.02) -> None:
        """Hands queued messages to `handle` on the calling (UI) thread, for at most `budget_s`."""
        end = time.perf_counter() + budget_s
        while time.perf_counter() < end:
            try:
                message = self.events.get_nowait()
            except queue.Empty:
                return
            handle(message)

    def wait_idle(self, timeout: float, pump: Callable[[], None] | None = None) -> bool:
        """Waits until no job runs or waits, calling `pump` meanwhile (to render frames)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.busy and self.events.empty():
                return True
            if pump is not None:
                pump()
            else:
                time.sleep(0.01)
        return False

    def shutdown(self) -> None:
        self.cancel()
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=5)

    # --- worker thread -------------------------------------------------------------------
    def _work(self) -> None:
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
