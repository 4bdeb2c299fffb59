"""The pairs of `nodegraph bench landmarks` as jobs: in this process, or on the batch engines
(`--engine local` worker processes, `--engine ray` a Ray cluster), each worker loading the
generator and the detector once, so the paper's protocol runs at its scale."""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path
from typing import Any

from .bench import (
    FIVE,
    ONE,
    PAIR_SEEDS,
    PairOutcome,
    drag_pair,
    drag_pair_batch,
    load_models,
    save_pictures,
)


def pair_tasks(pairs: int, seed: int) -> list[tuple[str, tuple]]:
    """(key, (pair seed, landmark names, index)) for 1, 5 and all landmarks, `pairs` each."""
    tasks = []
    for names in (ONE, FIVE, None):
        label = "all" if names is None else str(len(names))
        for i in range(pairs):
            tasks.append((f"{label}/{i}", (PAIR_SEEDS.start + seed * 1000 + i, names, i)))
    return tasks


class PairRunner:
    """Drags pairs with one generator and detector, loaded once (or handed over, in process)."""

    def __init__(self, checkpoint: str | None, detector: str | None, device: str, config: Any,
                 pictures: Path | None = None, loaded: tuple | None = None) -> None:  # fmt: skip
        self.G, self.detector = loaded or load_models(checkpoint, detector, device)
        self.config = config
        self.pictures = pictures
        self.stopped = False

    def run(self, task: tuple) -> PairOutcome:
        seed, names, index = task
        if self.stopped:
            raise RuntimeError("stopped before this pair")
        return self._kept(drag_pair(self.G, self.detector, seed, names, self.config), index)

    def run_batched(self, tasks: list[tuple], batch: int) -> list[PairOutcome]:
        """The tasks' pairs, those of one handle set dragged together (drag_many, `batch` at a
        time), in task order."""
        outcomes: dict[int, PairOutcome] = {}
        for names in dict.fromkeys(names for _, names, _ in tasks):
            group = [n for n, task in enumerate(tasks) if task[1] == names]
            done = drag_pair_batch(self.G, self.detector, [(tasks[n][0], names) for n in group], self.config, batch)
            for n, outcome in zip(group, done):
                outcomes[n] = self._kept(outcome, tasks[n][2])
        return [outcomes[n] for n in range(len(tasks))]

    def _kept(self, outcome: PairOutcome, index: int) -> PairOutcome:
        """The outcome to hand back, its pictures saved when asked for (the tensors stay here)."""
        if self.pictures is not None:
            save_pictures(outcome, self.pictures / f"pair{index}_{outcome.setting}.png")
        return dataclasses.replace(outcome, pictures=None)

    def stop(self) -> None:
        self.stopped = True


def drag_pairs(tasks: list[tuple[str, tuple]], checkpoint: str | None, detector: str | None, device: str,
               config: Any, pictures: Path | None = None, engine: str | None = None, workers: int | None = None,
               ray_address: str | None = None, loaded: tuple | None = None, batch: int = 1) -> list[PairOutcome]:  # fmt: skip
    """The outcomes of `tasks` in task order. `engine` None runs them here (with the generator and
    detector `loaded` already): one after another, or with `batch` > 1 up to that many at once
    (drag_many), setting by setting. A pair failing on an engine is an error, since the bench
    reports means over all pairs. Ctrl+C stops the workers (KeyboardInterrupt)."""
    if engine is None:
        runner = PairRunner(checkpoint, detector, device, config, pictures, loaded)
        if batch > 1:
            return runner.run_batched([task for _, task in tasks], batch)
        return [runner.run(task) for _, task in tasks]
    from nodegraph.batching.dispatch import EngineOptions, open_pool, run_tasks
    from nodegraph.cli import sigint_cancels
    from nodegraph.events import CancelToken

    gpus = 1.0 if engine == "ray" and device.startswith("cuda") else 0.0  # a GPU per Ray actor
    factory = functools.partial(PairRunner, checkpoint, detector, device, config, pictures)
    results: dict[str, Any] = {}
    stop = CancelToken()
    with sigint_cancels(stop), open_pool(EngineOptions(engine, workers, ray_address, gpus_per_job=gpus), factory, len(tasks), device) as pool:
        print(f"{len(tasks)} pairs on {pool.capacity} {engine} workers", file=sys.stderr)
        run_tasks(pool, tasks, lambda outcome: results.__setitem__(outcome.key, outcome), stop.is_set)
    if stop.is_set():
        raise KeyboardInterrupt
    failed = [f"{key}: {o.error}" for key, o in results.items() if o.error is not None]
    if failed:
        raise RuntimeError("pairs failed on the workers: " + "; ".join(failed))
    return [results[key].result for key, _ in tasks]
