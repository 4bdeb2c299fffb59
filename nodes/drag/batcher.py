"""Drags from many threads stepped as one batch: a DragBatcher takes the drags that threads
hand it (`batcher.drag(...)`, drag()'s arguments: the DragOptimizers of the jobs a batch worker
runs at once, `nodegraph batch --jobs-per-worker`) and one stepping thread runs them together, as
drag_many does, each step one synthesis and one backward for all the drags of a generator and
layout.

A drag joins at the next step after its call and leaves when it ends; its caller waits, then gets
drag()'s result (or its error). A drag that fails alone (its on_step raised) fails alone; a
failure of the batch's synthesis or backward fails the drags of that batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .loop import DragResult, DragRun, formulation_of
from .many import BatchMemo, step_together


@dataclass
class _Entry:
    run: DragRun
    cancel: object
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class DragBatcher:
    """Steps the drags handed to it (`drag`) together, at most `batch` per generator and layout."""

    def __init__(self, batch: int = 32):
        if batch < 1:
            raise ValueError(f"batch must be at least 1 (drags stepped together), got {batch}")
        self.batch = batch
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._stepper: threading.Thread | None = None
        self._memos: dict[tuple, tuple] = {}  # layout -> (generator, its BatchMemo)
        self.steps = 0  # batched steps taken (for checks: several drags per step)

    def drag(self, G, ws, handles, targets, mask=None, config=None, on_step=None, cancel=None) -> DragResult:
        """drag()'s call, run with the other drags of the batch; waits for its end."""
        run = DragRun(G, ws, handles, targets, mask, config, formulation_of(config), on_step)
        entry = _Entry(run, cancel)
        if run.stopped is None:
            with self._lock:
                self._entries.append(entry)
                if self._stepper is None:
                    self._stepper = threading.Thread(target=self._step_all, name="nodegraph-drag-batcher", daemon=True)
                    self._stepper.start()
            entry.done.wait()
        if entry.error is not None:
            raise entry.error
        return run.result()

    def _step_all(self) -> None:
        """The stepping thread: a step of every waiting drag, until none is left."""
        while True:
            with self._lock:
                entries = list(self._entries)
                if not entries:
                    self._stepper = None
                    return
            for group in self._groups(entries):
                self._step(group)
            self.steps += 1
            with self._lock:
                self._entries = [e for e in self._entries if not e.done.is_set()]
                layouts = {_layout(e.run) for e in self._entries}
            self._memos = {key: kept for key, kept in self._memos.items() if key in layouts}

    def _groups(self, entries: list[_Entry]) -> list[list[_Entry]]:
        """The drags that share one synthesis (the same generator, feature block, trained rows,
        noise and dtype), in their order of arrival, `batch` at most."""
        groups: dict[tuple, list[_Entry]] = {}
        for entry in entries:
            group = groups.setdefault(_layout(entry.run), [])
            if len(group) < self.batch:
                group.append(entry)
        return list(groups.values())

    def _step(self, group: list[_Entry]) -> None:
        live = []
        for entry in group:
            if entry.cancel is not None and entry.cancel.is_set():
                entry.run.stopped = "cancelled"
                entry.done.set()
            else:
                live.append(entry)
        if not live:
            return
        runs = [e.run for e in live]
        # The memo holds the generator: ids of its layers stay its own while the memo lives.
        memo = self._memos.setdefault(_layout(runs[0]), (runs[0].G, BatchMemo()))[1].of(runs)
        try:
            failed = {id(run): error for run, error in step_together(runs, memo)}
        except Exception as exc:  # the batch's synthesis, tracking or backward: its drags fail
            failed = {id(e.run): exc for e in live}
        for entry in live:
            entry.error = failed.get(id(entry.run))
            if entry.error is not None or entry.run.stopped is not None:
                entry.done.set()


def _layout(run: DragRun) -> tuple:
    cfg = run.cfg
    return (id(run.G), cfg.feature_block, cfg.layers, cfg.noise_mode, run.latent.ws0.dtype)
