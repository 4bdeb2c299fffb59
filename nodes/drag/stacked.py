"""Several drags' tracking and loss as one pass over their handles stacked (B drags x N handles).

In a batch of drags (nodes.drag.many) the synthesis and the backward are shared, but each drag
tracked and scored its handles on its own: a few hundred small ops, and several device syncs, a
drag a step. On a GPU, where each op is a launch, those bound the batch. Drags of a formulation
that supports it (`stackable`: the engine's methods, not the official formulation), with the
same settings, handle count and no mask, take their step here instead: their per-handle state is
stacked into one formulation object whose handles are all theirs, F is read through a
StackedMap (each drag's rows from its own map), and the step's checks and figures come back to
Python in two transfers for the whole stack.

The outcome is each drag's own step (DragRun.loss then update) up to float rounding: the same
tracking, guard and arrival check, the same loss. Only the per-drag bookkeeping stays per drag:
its history and on_step, and the rare arrival check (its own synthesis).
"""

from __future__ import annotations

import copy
import math

import torch

from nodes.gan.transfer import tensor_on

from .features import StackedMap
from .loop import DragRun, figure_rows, read_figures


def stack_key(run: DragRun):
    """Runs with equal keys can be stacked (None: this run cannot)."""
    form = run.form
    if not getattr(form, "stackable", False) or form.keep is not None:
        return None
    return (type(form), len(run.handles), run.cfg, getattr(form, "guard", None))


def stacked_losses(
    runs: list[DragRun], feat: torch.Tensor, lower: dict | None
) -> tuple[torch.Tensor | None, list[tuple[DragRun, tuple]]]:
    """This step of `runs` (one stack_key) on their rows of a batch's F ([B, C, S, S], in the
    order of `runs`) and of the blocks below ({block: [B, ...]}, or None): tracking, the checks
    that may end a drag, and the loss. Returns the summed loss of the runs that pull this step (in
    the graph; None if none does) and, for each of those, its history figures for
    DragRun.update; the other runs have ended (`stopped`)."""
    count = len(runs[0].handles)
    form = _stacked_form(runs, lower)
    maps = StackedMap(feat)
    handles = torch.cat([run.handles for run in runs])
    targets = torch.cat([run.targets for run in runs])
    tracked = [_tracks_this_step(run) for run in runs]
    newly_lost = None
    if any(tracked):
        rows = tensor_on(handles.device, tracked).repeat_interleave(count)
        handles, newly_lost = form.track_all(maps.detach(), handles, rows)
        _unstack(form, runs, count)
        for run, track in zip(runs, tracked):
            if track:
                run.tracked_at_latest = True
                if hasattr(run.form, "tracks"):  # a guarded method counts its tracks
                    run.form.tracks += 1
    for run, moved in zip(runs, handles.split(count)):
        run.handles = moved
    settled = (targets - handles).norm(dim=-1) <= runs[0].cfg.stop_px
    lost = getattr(form, "lost", None)  # a guarded method's handles no longer pulled
    active = torch.ones_like(settled) if lost is None else ~lost
    settled = settled | ~active
    flags = [active.view(-1, count).any(1), settled.view(-1, count).all(1)]
    flags = torch.stack(flags).tolist()  # the stack's one sync before its loss
    if newly_lost is not None:
        for run, track, newly in zip(runs, tracked, newly_lost.split(count)):
            if track:
                run.form.note_lost(newly)
    going = [run.goes_on(any_active, all_settled) for run, any_active, all_settled in zip(runs, flags[0], flags[1])]
    if not any(going):
        return None, []
    handles = torch.cat([run.handles for run in runs])  # an arrival check may have moved some
    distances = (targets - handles).norm(dim=-1)
    losses = form.handle_losses(maps, handles, targets).view(-1, count).sum(1)
    rows = figure_rows(losses, handles, distances).tolist()  # the stack's history in one transfer
    kept, out = [], []
    for i, run in enumerate(runs):
        if not going[i]:
            continue
        figures = read_figures(rows[i], count)
        if not math.isfinite(figures[0]):
            run.stopped = "non-finite"
            continue
        run.distances = distances[i * count : (i + 1) * count]
        out.append((run, figures))
        kept.append(i)
    if not kept:
        return None, []
    if len(kept) < len(runs):  # an ended drag's loss stays out of the backward
        losses = losses.index_select(0, tensor_on(losses.device, kept))
    return losses.sum(), out


def _tracks_this_step(run: DragRun) -> bool:
    """Whether `run` tracks its handles in this step's F: not at its first step, nor at the step
    after a multiscale re-location (which keeps where the check put them; its count goes on)."""
    if run.step == 0:
        return False
    if getattr(run.form, "skip_track", False):
        run.form.skip_track = False
        run.form.tracks += 1
        return False
    return True


def _stacked_form(runs: list[DragRun], lower: dict | None):
    """One formulation object over all of `runs`' handles: the first run's, shallow-copied, with
    every per-handle state tensor the runs' stacked, and the blocks below F as StackedMaps."""
    form = copy.copy(runs[0].form)
    for name in form.fixed_state + form.tracked_state:
        setattr(form, name, torch.cat([getattr(run.form, name) for run in runs]))
    if lower is not None:
        form.lower_maps = {block: StackedMap(value.detach()) for block, value in lower.items()}
    return form


def _unstack(form, runs: list[DragRun], count: int) -> None:
    """Each run's share of the tracked state, after the stacked tracking updated it."""
    for name in form.tracked_state:
        for run, part in zip(runs, getattr(form, name).split(count)):
            setattr(run.form, name, part)
