"""Feeds tasks to a pool of workers (local processes or Ray actors) as they free up and hands
back each outcome as it arrives. A stop request ends the batch cleanly: no new task starts, the
running ones are asked to stop, and the tasks never started are returned."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from nodegraph.errors import BatchError

from .workers import Outcome, RunnerFactory, default_local_workers

ENGINES = ("local", "ray")


class Pool(Protocol):
    capacity: int

    def submit(self, key: str, task: Any) -> None: ...

    def wait(self, timeout: float = ...) -> list[Outcome]: ...

    def stop(self) -> None: ...

    def __enter__(self) -> Pool: ...

    def __exit__(self, *exc: Any) -> None: ...


@dataclass(frozen=True)
class EngineOptions:
    """Where tasks run. `workers` None = one per core, or per GPU on CUDA (local), or per free
    CPU/GPU share (Ray). `cpus_per_job` (torch threads) None = the cores shared out among the
    local workers, 1 on Ray."""

    engine: str = "local"
    workers: int | None = None
    ray_address: str | None = None
    cpus_per_job: float | None = None
    gpus_per_job: float = 0.0
    jobs_per_worker: int = 1  # tasks a worker runs at once, sharing it (and its GPU)

    def check(self) -> None:
        if self.engine not in ENGINES:
            raise BatchError(f"unknown --engine {self.engine!r}; use one of {', '.join(ENGINES)}")
        if self.workers is not None and self.workers < 1:
            raise BatchError(f"--workers {self.workers}: use 1 or more")
        if (self.cpus_per_job is not None and self.cpus_per_job <= 0) or self.gpus_per_job < 0:
            raise BatchError("--cpus-per-job must be > 0 and --gpus-per-job >= 0")
        if self.jobs_per_worker < 1:
            raise BatchError(f"--jobs-per-worker {self.jobs_per_worker}: use 1 or more")

    def describe(self) -> str:
        where = f" at {self.ray_address}" if self.ray_address else ""
        return f"{self.engine}{where}"


def open_pool(options: EngineOptions, factory: RunnerFactory, tasks: int, device: str = "cpu") -> Pool:
    """The pool for `options` (not started: use it in a `with`); never more workers than tasks.
    `device` (the jobs' device) picks the local default: one worker per GPU, else per core."""
    options.check()
    if options.engine == "ray":
        from .ray_pool import RayPool

        workers = min(options.workers, tasks) if options.workers else None
        cpus = options.cpus_per_job or 1.0
        return RayPool(factory, workers, options.ray_address, cpus, options.gpus_per_job, options.jobs_per_worker)
    from .local_pool import LocalPool

    workers = min(options.workers or default_local_workers(device), max(1, tasks))
    threads = int(options.cpus_per_job) if options.cpus_per_job else None
    return LocalPool(factory, workers, threads, options.jobs_per_worker)


def run_tasks(
    pool: Pool,
    tasks: list[tuple[str, Any]],
    on_outcome: Callable[[Outcome], None],
    stop_requested: Callable[[], bool],
) -> list[str]:
    """Runs `tasks` ((key, task) pairs) on the started `pool`, calling `on_outcome` for each as it
    ends; returns the keys of the tasks that never started because a stop was requested."""
    pending = deque(tasks)
    in_flight = 0
    stopping = False
    while pending or in_flight:
        if stop_requested() and not stopping:
            stopping = True
            pool.stop()
        while pending and not stopping and in_flight < pool.capacity:
            pool.submit(*pending.popleft())
            in_flight += 1
        if stopping and not in_flight:
            break
        for outcome in pool.wait():
            in_flight -= 1
            on_outcome(outcome)
    return [key for key, _ in pending]
