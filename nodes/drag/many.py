"""Many independent drags as one batched optimisation (`drag_many`): a step synthesises F once for
every drag still running (one batch through the generator, one backward), while each drag keeps
its own Adam state, tracking, stop and report. As drags end, waiting ones take their places, so
the batch stays full: on a GPU one drag's step is launch-bound, and a batch of them costs little
more than one (`nodegraph bench landmarks --drags-per-batch`).

Each drag's outcome is drag()'s for the same inputs up to float rounding: its F comes from the
batch's whole-map synthesis instead of its own cropped one (the same values, nodes.gan.crop), and
the convs of a batch sum in another order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from nodes.gan import Generator
from nodes.gan.model import ModulationMemo
from nodes.gan.transfer import tensor_on

from .adam import Adam
from .compiled import drag_features
from .config import DragConfig
from .loop import DragResult, DragRun, DragState, formulation_of
from .stacked import stack_key, stacked_losses
from .validation import prepare_keep, prepare_pairs, prepare_ws


def drag_many(
    G: Generator,
    ws: Sequence[torch.Tensor] | torch.Tensor,
    handles: Sequence,
    targets: Sequence,
    masks: Sequence[torch.Tensor | None] | None = None,
    config: DragConfig | None = None,
    batch: int = 32,
    on_step: Callable[[int, DragState], None] | None = None,
    cancel=None,
) -> list[DragResult]:
    """Drag N codes at once: drag i moves `handles[i]` to `targets[i]` on `ws[i]` (a W+ code
    [1, num_ws, w_dim] or w [1, w_dim]; or `ws` is one tensor [N, num_ws, w_dim]), with `masks[i]`
    (None, or [H, W] as drag()'s mask) and the same `config`. At most `batch` drags run at a time.

    `on_step(i, state)` runs after each step of drag i; `cancel` (`is_set()`) is checked before
    every step and ends every drag at its last completed step (a drag not yet begun keeps its
    starting code). Returns the N results in order. Inputs are checked before any drag begins: a
    bad one is a ValueError that names the drag."""
    codes = _codes(ws)
    count = len(codes)
    masks = [None] * count if masks is None else list(masks)
    if not (len(handles) == len(targets) == len(masks) == count):
        raise ValueError(
            f"drag_many needs one entry per drag in ws, handles, targets and masks; got {count}, "
            f"{len(handles)}, {len(targets)} and {len(masks)}"
        )
    if count == 0:
        return []
    if batch < 1:
        raise ValueError(f"batch must be at least 1 (drags running at a time), got {batch}")
    _check_inputs(G, codes, handles, targets, masks)
    formulation = formulation_of(config)

    def begin(i: int) -> DragRun:
        hook = None if on_step is None else (lambda state, i=i: on_step(i, state))
        return DragRun(G, codes[i], handles[i], targets[i], masks[i], config, formulation, hook)

    runs: dict[int, DragRun] = {}
    waiting = iter(range(count))
    memos = BatchMemo()
    while True:
        live = [run for run in runs.values() if run.stopped is None]
        if cancel is not None and cancel.is_set():
            for run in live:
                run.stopped = "cancelled"
            for i in waiting:
                runs[i] = begin(i)
                runs[i].stopped = "cancelled"
            break
        while len(live) < batch:  # waiting drags take the free places
            i = next(waiting, None)
            if i is None:
                break
            runs[i] = begin(i)
            live += [runs[i]] if runs[i].stopped is None else []
        if not live:
            break
        for _, error in step_together(live, memos.of(live)):
            raise error
    return [runs[i].result() for i in range(count)]


def step_together(runs: list[DragRun], memo: ModulationMemo) -> list[tuple[DragRun, Exception]]:
    """One step of every run (of one generator and layout): one synthesis, each run's tracking
    and loss (a run that ends here ends), one backward, each run's update. Runs that stack
    (nodes.drag.stacked: one formulation, settings and handle count) track and score as one.
    Returns the runs whose update raised (their on_step), with the error: the others' steps
    stand."""
    feat, lower = batched_maps(runs[0].G, runs, memo)
    groups: dict = {}
    for i, run in enumerate(runs):
        key = stack_key(run)
        groups.setdefault(i if key is None else key, []).append(i)
    losses = []  # summed in one backward
    stepped = []  # (index in runs, run, its history figures)
    for rows in groups.values():
        if len(rows) > 1:
            whole = rows == list(range(len(runs)))
            pick = None if whole else tensor_on(feat.device, rows)
            part = feat if whole else feat.index_select(0, pick)
            below = None if lower is None else {b: v if whole else v.index_select(0, pick) for b, v in lower.items()}
            total, done = stacked_losses([runs[i] for i in rows], part, below)
            losses += [] if total is None else [total]
            index = {id(runs[i]): i for i in rows}
            stepped += [(index[id(run)], run, figures) for run, figures in done]
            continue
        for i in rows:
            run = runs[i]
            if lower is not None and run.form.keeps_lower:
                run.form.keep_lower_maps({block: value[i : i + 1] for block, value in lower.items()})
            loss = run.loss(feat[i : i + 1])
            if loss is not None:
                losses.append(loss)
                stepped.append((i, run, run.figures))
    if not stepped:
        return []
    stepped.sort(key=lambda item: item[0])
    (losses[0] if len(losses) == 1 else torch.stack(losses).sum()).backward()
    Adam.step_all([run.optimizer for _, run, _ in stepped])
    failed = []
    for _, run, figures in stepped:
        try:
            run.update(figures, stepped=True)
        except Exception as error:
            failed.append((run, error))
    return failed


def batched_maps(G: Generator, runs: list[DragRun], memo: ModulationMemo) -> tuple[torch.Tensor, dict | None]:
    """F at every run's current code ([B, C, S, S], in the order of `runs`) from one whole-map
    synthesis of the batch, and the blocks below it ({block: [B, ...]}) when a run's formulation
    reads them (else None)."""
    cfg = runs[0].cfg
    ws = torch.cat([run.ws() for run in runs])
    lower = {} if any(run.form.keeps_lower for run in runs) else None
    return drag_features(G, ws, cfg, memo, lower), lower


class BatchMemo:
    """The ModulationMemo of a batch of drags (ModulationMemo(fixed_rows=True)): the batch's fixed
    rows are its drags' own, so the memo forgets them when other drags make up the batch."""

    def __init__(self):
        self.memo = ModulationMemo(fixed_rows=True)
        self._runs: tuple[DragRun, ...] = ()

    def of(self, runs: Sequence[DragRun]) -> ModulationMemo:
        """The memo for a step of `runs` (the run objects themselves, in order)."""
        if len(runs) != len(self._runs) or any(a is not b for a, b in zip(runs, self._runs)):
            self.memo.forget()
            self._runs = tuple(runs)
        return self.memo


def _codes(ws: Sequence[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    """One code per drag: the rows of a [N, num_ws, w_dim] tensor, or the sequence's items."""
    if isinstance(ws, torch.Tensor):
        if ws.ndim != 3:
            raise ValueError(
                f"ws must be a sequence of codes or a tensor [N, num_ws, w_dim], got shape {list(ws.shape)}"
            )
        return list(ws.split(1))
    return list(ws)


def _check_inputs(G: Generator, codes, handles, targets, masks) -> None:
    """drag()'s checks on every drag's inputs, before the first step of any."""
    size = G.img_resolution
    for i, (code, points, goals, mask) in enumerate(zip(codes, handles, targets, masks)):
        try:
            prepare_ws(G, code)
            prepare_pairs(points, goals, size, G.device)
            prepare_keep(mask, size, G.device)
        except ValueError as error:
            raise ValueError(f"drag {i}: {error}") from None
