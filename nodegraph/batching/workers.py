"""What runs inside a batch worker (a local process or a Ray actor): a Runner, built once per
worker and kept between tasks (a project loaded once, its generator kept in its cache), with
torch's threads set so that N workers share the cores instead of fighting over them."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from nodegraph.errors import GraphError, NodeError, ProjectError


class Runner(Protocol):
    """Runs tasks one after another; `stop()` may be called from another thread and asks the
    running task (and any later one) to end early."""

    def run(self, task: Any) -> Any: ...

    def stop(self) -> None: ...


# Builds a worker's Runner; must pickle (a module-level class, or functools.partial of one).
RunnerFactory = Callable[[], Runner]


@dataclass
class Outcome:
    """One task's end: its result, or the error it raised (or the death of its worker)."""

    key: str
    result: Any = None
    error: str | None = None
    worker: str = ""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def attempt(runner: Runner, key: str, task: Any) -> Outcome:
    """Runs one task; an exception becomes the outcome's error, so one bad task never stops a worker."""
    try:
        return Outcome(key, runner.run(task), None, worker_name())
    except Exception as exc:
        return Outcome(key, None, describe(exc), worker_name())


def describe(exc: BaseException) -> str:
    """Our errors already name the node or file at fault; others get their type in front."""
    if isinstance(exc, NodeError | GraphError | ProjectError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def cpu_count() -> int:
    """The cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """torch threads for each of `workers` processes on this machine: the cores shared out."""
    return max(1, cpu_count() // max(1, workers))


def default_local_workers(device: str) -> int:
    """One worker per GPU when the jobs run on CUDA (`auto` included, when torch sees one),
    else one per core."""
    if device.startswith("cuda") or device == "auto":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.device_count()
    return cpu_count()


def configure_worker(threads: int, slot: int = 0) -> None:
    """Call first thing in a worker: `threads` torch threads (OpenMP too, for libraries imported
    later), and with several GPUs visible, GPU number `slot` modulo their count."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or inter-op work already started in this process
        pass
    if torch.cuda.is_available() and torch.cuda.device_count() > 1:
        torch.cuda.set_device(slot % torch.cuda.device_count())
