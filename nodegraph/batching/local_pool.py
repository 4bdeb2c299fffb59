"""The local engine: N worker processes (spawn) on this machine. Each builds its Runner once and
takes tasks from a queue until it is told to stop; a worker that dies is replaced and the task
it held is reported as failed, so one crash never stops the batch."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from typing import Any

from nodegraph.errors import BatchError

from .workers import Outcome, RunnerFactory, attempt, configure_worker, describe, threads_per_worker

POLL_SECONDS = 0.2
JOIN_SECONDS = 10.0


class LocalPool:
    """Worker processes with a task queue and a result queue; use as a context manager."""

    engine = "local"

    def __init__(self, factory: RunnerFactory, workers: int, threads: int | None = None, jobs_per_worker: int = 1) -> None:
        self.factory = factory
        self.workers = max(1, int(workers))
        self.threads = threads or threads_per_worker(self.workers)
        self.jobs_per_worker = max(1, int(jobs_per_worker))  # tasks a worker runs at once (threads)
        self._mp = mp.get_context("spawn")  # fork would copy the parent's torch threads and locks
        self._tasks: Any = self._mp.Queue()
        self._results: Any = self._mp.Queue()
        # A lock-free flag: an Event's lock can be left held (or its waiters dead) by a killed worker.
        self._stop = self._mp.RawValue("b", 0)
        self._procs: dict[int, Any] = {}
        self._ready: set[int] = set()
        self._running: dict[int, set[str]] = {}  # slot -> keys of the tasks it runs
        self._ended: set[str] = set()

    @property
    def capacity(self) -> int:
        return self.workers * self.jobs_per_worker

    def __enter__(self) -> LocalPool:
        try:
            for slot in range(self.workers):
                self._spawn(slot)
            while len(self._ready) < self.workers:
                self._collect([], POLL_SECONDS)
                self._bury([])
        except BaseException:
            self.abort()
            raise
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def submit(self, key: str, task: Any) -> None:
        self._tasks.put((key, task))

    def wait(self, timeout: float = POLL_SECONDS) -> list[Outcome]:
        """The outcomes that arrived within `timeout` (maybe none); replaces dead workers."""
        outcomes: list[Outcome] = []
        self._collect(outcomes, timeout)
        self._bury(outcomes)
        return outcomes

    def stop(self) -> None:
        """Asks the running tasks to end early; workers then take no new task."""
        self._stop.value = 1

    def close(self) -> None:
        for _ in range(len(self._procs) * self.jobs_per_worker):  # one None per task taker
            self._tasks.put(None)
        for proc in self._procs.values():
            proc.join(JOIN_SECONDS)
        self.abort()

    def abort(self) -> None:
        """Ends every worker now (a second Ctrl+C, or an error in the driver)."""
        self._stop.value = 1
        for proc in self._procs.values():
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs.values():
            proc.join(JOIN_SECONDS)
        for q in (self._tasks, self._results):
            q.cancel_join_thread()  # tasks nobody took must not keep this process from exiting
            q.close()

    def _spawn(self, slot: int) -> None:
        proc = self._mp.Process(
            target=_worker_main,
            args=(self.factory, slot, self.threads, self._tasks, self._results, self._stop, self.jobs_per_worker),
            name=f"nodegraph-batch-{slot}",
            daemon=True,
        )
        proc.start()
        self._procs[slot] = proc
        self._ready.discard(slot)

    def _collect(self, outcomes: list[Outcome], timeout: float) -> None:
        try:
            message = self._results.get(timeout=timeout)
            while True:
                self._handle(message, outcomes)
                message = self._results.get_nowait()
        except queue.Empty:
            pass

    def _handle(self, message: tuple, outcomes: list[Outcome]) -> None:
        kind, slot, detail = message
        if kind == "ready":
            self._ready.add(slot)
        elif kind == "start_failed":
            raise BatchError(f"a batch worker could not start: {detail}")
        elif kind == "started":
            self._running.setdefault(slot, set()).add(detail)
        elif kind == "done" and detail.key not in self._ended:
            self._running.get(slot, set()).discard(detail.key)
            self._ended.add(detail.key)
            outcomes.append(detail)

    def _bury(self, outcomes: list[Outcome]) -> None:
        """A worker that died (killed, out of memory, a crash in native code): its task fails."""
        for slot, proc in list(self._procs.items()):
            if proc.is_alive() or proc.exitcode == 0:
                continue
            if slot not in self._ready:
                raise BatchError(
                    f"a batch worker exited with code {proc.exitcode} while starting (a script that "
                    "calls nodegraph.batch must call it under `if __name__ == '__main__':`)"
                )
            for key in sorted(self._running.pop(slot, set()) - self._ended):
                self._ended.add(key)
                error = f"the worker process (pid {proc.pid}) died with exit code {proc.exitcode}"
                outcomes.append(Outcome(key, None, error, f"local:{proc.pid}"))
            if not self._stop.value:
                self._spawn(slot)


def _worker_main(factory: RunnerFactory, slot: int, threads: int, tasks: Any, results: Any, stop: Any,
                 jobs: int = 1) -> None:  # fmt: skip
    """A worker process: build the runner once, then run tasks until a None or the stop event,
    `jobs` at a time (one thread each, sharing the runner)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the driver, which stops us cleanly
    die_with_parent()
    try:
        configure_worker(threads, slot)
        runner = factory()
    except BaseException as exc:
        results.put(("start_failed", slot, describe(exc)))
        return
    threading.Thread(target=_watch_stop, args=(stop, runner), daemon=True).start()
    results.put(("ready", slot, None))
    takers = [threading.Thread(target=_take_tasks, args=(runner, slot, tasks, results, stop)) for _ in range(jobs - 1)]
    for taker in takers:
        taker.start()
    _take_tasks(runner, slot, tasks, results, stop)
    for taker in takers:
        taker.join()


def _take_tasks(runner: Any, slot: int, tasks: Any, results: Any, stop: Any) -> None:
    """One of a worker's task takers: runs tasks until a None (one per taker) or the stop flag."""
    while not stop.value:
        item = tasks.get()
        if item is None:
            break
        key, task = item
        results.put(("started", slot, key))
        results.put(("done", slot, attempt(runner, key, task)))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent() -> None:
    """A worker ends when its driver dies, even by SIGKILL: the kernel sends it SIGKILL (Linux
    prctl PR_SET_PDEATHSIG), and a thread that sees its parent change ends it elsewhere."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the thread below does it within POLL_SECONDS
    if os.getppid() != parent:  # the driver died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)


def _watch_stop(stop: Any, runner: Any) -> None:
    while not stop.value:
        time.sleep(POLL_SECONDS)
    runner.stop()
