"""The Ray engine (`pip install nodegraph[ray]`): the same tasks as the local engine, run by Ray
actors (one per worker, each building its Runner once), on a local Ray started for the run or
on the cluster at `address` / RAY_ADDRESS. GPU jobs ask Ray for `gpus_per_job` GPUs each.

On a cluster of several machines the output folder must be one they all share (a network
filesystem): the workers write there, and the driver checks that it sees what they wrote."""

from __future__ import annotations

import os
from typing import Any

from nodegraph.errors import BatchError

from .workers import Outcome, RunnerFactory, attempt, configure_worker, worker_name

POLL_SECONDS = 0.2


class RayWorker:
    """The actor: one Runner kept between tasks. It runs a thread per task it runs at once
    (jobs_per_worker) and one more (max_concurrency) so that `stop` reaches the running tasks."""

    def __init__(self, factory: RunnerFactory, threads: int, slot: int) -> None:
        configure_worker(threads, slot)
        self.runner = factory()

    def ready(self) -> str:
        return worker_name()

    def run(self, key: str, task: Any) -> Outcome:
        return attempt(self.runner, key, task)

    def stop(self) -> None:
        self.runner.stop()


class RayPool:
    """Ray actors fed one task at a time; use as a context manager."""

    engine = "ray"

    def __init__(
        self,
        factory: RunnerFactory,
        workers: int | None = None,
        address: str | None = None,
        cpus_per_job: float = 1.0,
        gpus_per_job: float = 0.0,
        jobs_per_worker: int = 1,
    ) -> None:
        self.factory = factory
        self.jobs_per_worker = max(1, int(jobs_per_worker))
        self.workers = workers
        self.address = address
        self.cpus_per_job = cpus_per_job
        self.gpus_per_job = gpus_per_job
        self._ray: Any = None
        self._started_ray = False
        self._actors: dict[int, Any] = {}
        self._idle: list[int] = []  # a slot once per task its actor may take now
        self._running: dict[Any, tuple[int, str, Any]] = {}  # object ref -> (slot, key, actor)

    @property
    def capacity(self) -> int:
        return len(self._actors) * self.jobs_per_worker

    def __enter__(self) -> RayPool:
        self._ray = import_ray()
        try:
            self._connect()
            count = self.workers or self._default_workers()
            for slot in range(count):
                self._actors[slot] = self._new_actor(slot)
            self._await_ready(list(self._actors.values()))
            self._idle = list(self._actors) * self.jobs_per_worker
        except BaseException:
            self.abort()
            raise
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.abort()

    def submit(self, key: str, task: Any) -> None:
        slot = self._idle.pop()
        actor = self._actors[slot]
        self._running[actor.run.remote(key, task)] = (slot, key, actor)

    def wait(self, timeout: float = POLL_SECONDS) -> list[Outcome]:
        ray = self._ray
        refs = list(self._running)
        if not refs:
            return []
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        return [self._outcome(ref) for ref in ready]

    def stop(self) -> None:
        for actor in self._actors.values():
            actor.stop.remote()

    def close(self) -> None:
        self.abort()

    def abort(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for actor in self._actors.values():
            ray.kill(actor)
        self._actors.clear()
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
        self._ray = None

    def _connect(self) -> None:
        ray = self._ray
        if ray.is_initialized():  # the caller's own Ray session: use it, leave it running
            return
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self._started_ray = True

    def _default_workers(self) -> int:
        resources = self._ray.cluster_resources()
        if self.gpus_per_job:
            return max(1, int(resources.get("GPU", 0) // self.gpus_per_job))
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_job))

    def _new_actor(self, slot: int) -> Any:
        actor_class = self._ray.remote(RayWorker).options(
            num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_concurrency=self.jobs_per_worker + 1
        )
        return actor_class.remote(self.factory, max(1, int(self.cpus_per_job)), slot)

    def _await_ready(self, actors: list[Any]) -> None:
        try:
            self._ray.get([actor.ready.remote() for actor in actors])
        except self._ray.exceptions.RayError as exc:
            raise BatchError(f"a Ray batch worker could not start: {_first_line(exc)}") from None

    def _outcome(self, ref: Any) -> Outcome:
        slot, key, actor = self._running.pop(ref)
        try:
            outcome = self._ray.get(ref)
        except self._ray.exceptions.RayError as exc:  # the actor died: replace it (once)
            outcome = Outcome(key, None, f"the Ray worker died: {_first_line(exc)}", "ray")
            if self._actors.get(slot) is actor:
                self._actors[slot] = self._new_actor(slot)
                self._await_ready([self._actors[slot]])
        self._idle.append(slot)
        return outcome


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BatchError(
            "--engine ray needs Ray: pip install 'nodegraph[ray]' (or pip install ray)"
        ) from None
    return ray


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
