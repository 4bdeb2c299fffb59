"""The drag as it happened: every K-th step's W+ code, tracked handles, targets and distances.

A Trajectory re-renders any recorded frame (one synthesis each); chained stages concatenate into one film."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

TRAJECTORY = "TRAJECTORY"
# Bound on recorded frames: past it every second frame is dropped (the first and last kept), so a
# trajectory holds at most MAX_FRAMES * num_ws * w_dim * 4 bytes of codes (e.g. 18 * 512 * 4 *
# 256 = 9 MiB for an 18-row W+ at w_dim 512) plus the points; its file is bounded by
# nodegraph/budgets.py MAX_TRAJECTORY_BYTES (16 MiB).
MAX_FRAMES = 256
# Each stage's mask is kept on a MASK_GRID x MASK_GRID grid (1 bit a cell: 2 KiB a stage), enough
# to draw its outline on the frames; a stage without a mask keeps none.
MASK_GRID = 128


@dataclass
class Trajectory:
    """Frames of a drag: `steps` [F] (updates applied so far, counted across chained stages),
    `ws_start` [1, num_ws, w_dim] and `dws` [F, num_ws, w_dim] (each frame's code minus the start),
    `handles`, `targets` [F, N, 2] in pixels and `distances` [F, N]; `stages` [F] numbers the
    chained stage each frame belongs to. A frame's handles are those its last step's loss pulled
    (tracked before that update); the last frame's are tracked at its own code. `masks`
    [S, MASK_GRID, MASK_GRID] bool holds each stage's region that may change (all True: the
    stage had no mask); None when no stage had one. `counts` [S] holds each stage's number of
    point pairs when chained stages differ (a stage with fewer pairs than N has its rows padded
    with zeros: `points(i)` and `distances_of(i)` give only its own); None when every stage has N."""

    steps: torch.Tensor
    ws_start: torch.Tensor
    dws: torch.Tensor
    handles: torch.Tensor
    targets: torch.Tensor
    distances: torch.Tensor
    stages: torch.Tensor
    masks: torch.Tensor | None = None
    counts: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def ws(self, index: int) -> torch.Tensor:
        """The W+ code of frame `index`: [1, num_ws, w_dim]."""
        return self.ws_start + self.dws[index : index + 1]

    def mask(self, index: int) -> torch.Tensor | None:
        """The region frame `index`'s stage might change ([MASK_GRID, MASK_GRID] bool), or None
        when that stage had no mask."""
        if self.masks is None:
            return None
        region = self.masks[int(self.stages[index])]
        return None if bool(region.all()) else region

    def stage_first(self, index: int) -> int:
        """The first frame of frame `index`'s stage (in a chained film, after the first stage,
        its first recorded step: the step-0 frame is the previous stage's last)."""
        return int((self.stages == self.stages[index]).nonzero()[0])

    def count(self, index: int) -> int:
        """How many point pairs frame `index`'s stage has."""
        if self.counts is None:
            return int(self.handles.shape[1])
        return int(self.counts[int(self.stages[index])])

    def points(self, index: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Frame `index`'s (tracked handles, targets) in pixels, its stage's pairs only."""
        n = self.count(index)
        handles = [tuple(p) for p in self.handles[index, :n].tolist()]
        return handles, [tuple(p) for p in self.targets[index, :n].tolist()]

    def distances_of(self, index: int) -> torch.Tensor:
        """Frame `index`'s handle-to-target distances [n], its stage's pairs only."""
        return self.distances[index, : self.count(index)]

    def stage_counts(self) -> torch.Tensor:
        """Each stage's number of pairs: [S] int64."""
        if self.counts is not None:
            return self.counts
        return torch.full((int(self.stages[-1]) + 1,), self.handles.shape[1], dtype=torch.long)

    def then(self, later: Trajectory) -> Trajectory:
        """This film followed by `later` (a stage that started where this one ended): its steps
        continue this one's count, its first frame (this one's last code again) is dropped.
        Stages with different numbers of pairs are padded to the larger with zeros (`counts`)."""
        if later.dws.shape[1:] != self.dws.shape[1:]:
            raise ValueError(
                f"cannot chain trajectories of W+ shape {tuple(self.dws.shape[1:])} and {tuple(later.dws.shape[1:])}: the stages use different generators"
            )
        rest = slice(1, None)
        offset = self.steps[-1]
        dws = later.ws_start + later.dws[rest] - self.ws_start
        n = max(self.handles.shape[1], later.handles.shape[1])
        counts = torch.cat([self.stage_counts(), later.stage_counts()])
        return _bounded(Trajectory(
            steps=torch.cat([self.steps, later.steps[rest] + offset]),
            ws_start=self.ws_start,
            dws=torch.cat([self.dws, dws]),
            handles=torch.cat([_pad(self.handles, n), _pad(later.handles[rest], n)]),
            targets=torch.cat([_pad(self.targets, n), _pad(later.targets[rest], n)]),
            distances=torch.cat([_pad(self.distances, n), _pad(later.distances[rest], n)]),
            stages=torch.cat([self.stages, later.stages[rest] + self.stages[-1] + 1]),
            masks=_chained_masks(self, later),
            counts=None if bool((counts == n).all()) else counts,
        ))  # fmt: skip

    def tensors(self) -> dict[str, torch.Tensor]:
        """Its fields as named CPU tensors (a sidecar's content); `from_tensors` reads them back."""
        named = {name: getattr(self, name).detach().cpu().contiguous() for name in _FIELDS}
        for name in _OPTIONAL:
            if getattr(self, name) is not None:
                named[name] = getattr(self, name).detach().cpu().contiguous()
        return named

    @classmethod
    def from_tensors(cls, data: dict[str, torch.Tensor], where: str) -> Trajectory:
        """A trajectory from `tensors()`'s dict, its shapes checked (ValueError naming `where`)."""
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ValueError(
                f"{where}: not a trajectory (missing {missing}); save it with Trajectory.save"
            )
        trajectory = cls(
            **{name: data[name] for name in _FIELDS}, masks=data.get("masks"), counts=data.get("counts")
        )
        _check_shapes(trajectory, where)
        return trajectory

    def save(self, path: str | Path) -> None:
        """A safetensors file (nodes/trajectory_file.py), reopened with `load`."""
        from .trajectory_file import save_trajectory

        save_trajectory(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """The trajectory saved at `path`, read as untrusted input (TrajectoryFileError, a
        ValueError naming the file, when it is not one)."""
        from .trajectory_file import decode_trajectory

        return decode_trajectory(path)


_FIELDS = ("steps", "ws_start", "dws", "handles", "targets", "distances", "stages")
_OPTIONAL = ("masks", "counts")


def _pad(points: torch.Tensor, n: int) -> torch.Tensor:
    """`points` [F, m, ...] with zero rows up to n pairs."""
    if points.shape[1] == n:
        return points
    pad = torch.zeros(points.shape[0], n - points.shape[1], *points.shape[2:], dtype=points.dtype)
    return torch.cat([points, pad], dim=1)


def _check_shapes(t: Trajectory, where: str) -> None:
    """ValueError naming `where` unless the fields agree: F frames, N points, one W+ shape,
    at most MAX_FRAMES frames and a mask per stage."""
    frames = t.steps.shape[0] if t.steps.dim() == 1 else -1
    points = t.handles.shape[1] if t.handles.dim() == 3 else -1
    expected = {
        "steps": (frames,), "stages": (frames,), "ws_start": (1, *t.dws.shape[1:]),
        "dws": (frames, *t.ws_start.shape[1:]), "handles": (frames, points, 2),
        "targets": (frames, points, 2), "distances": (frames, points),
    }  # fmt: skip
    for name, shape in expected.items():
        if tuple(getattr(t, name).shape) != shape:
            raise ValueError(
                f"{where}: trajectory field {name!r} has shape {tuple(getattr(t, name).shape)}, expected {shape}"
            )
    if not 1 <= frames <= MAX_FRAMES:
        raise ValueError(f"{where}: a trajectory holds 1 to {MAX_FRAMES} frames, this one {frames}")
    stages = int(t.stages.max()) + 1 if frames else 0
    if t.masks is not None and tuple(t.masks.shape) != (stages, MASK_GRID, MASK_GRID):
        raise ValueError(
            f"{where}: trajectory masks have shape {tuple(t.masks.shape)}, expected {(stages, MASK_GRID, MASK_GRID)}"
        )
    if t.counts is not None:
        if tuple(t.counts.shape) != (stages,):
            raise ValueError(
                f"{where}: trajectory counts have shape {tuple(t.counts.shape)}, expected {(stages,)}"
            )
        if stages and not (1 <= int(t.counts.min()) and int(t.counts.max()) <= points):
            raise ValueError(f"{where}: each stage's count of pairs must be 1 to {points}")


def mask_grid(mask: torch.Tensor | None) -> torch.Tensor | None:
    """A MASK [H, W] (1 = may change) as the MASK_GRID x MASK_GRID bool region a trajectory keeps."""
    if mask is None:
        return None
    grid = torch.nn.functional.interpolate(
        mask.detach().float().cpu()[None, None],
        size=(MASK_GRID, MASK_GRID),
        mode="bilinear",
        align_corners=False,
    )
    return grid[0, 0] > 0.5


def _chained_masks(first: Trajectory, later: Trajectory) -> torch.Tensor | None:
    """The stages' masks of `first` then `later` (all True for a stage without one)."""
    if first.masks is None and later.masks is None:
        return None

    def of(t: Trajectory) -> torch.Tensor:
        count = int(t.stages.max()) + 1
        return (
            t.masks
            if t.masks is not None
            else torch.ones(count, MASK_GRID, MASK_GRID, dtype=torch.bool)
        )

    return torch.cat([of(first), of(later)])


class TrajectoryRecorder:
    """Collects the frames of one drag: the start, every `every`-th step, and the end."""

    def __init__(
        self, ws_start: torch.Tensor, handles, targets, every: int, mask: torch.Tensor | None = None
    ) -> None:
        if every < 1:
            raise ValueError(f"trajectory_every must be at least 1, got {every}")
        self.every = every
        self.ws_start = ws_start.detach().float().cpu()
        self.targets = [tuple(t) for t in targets]
        self.mask = mask_grid(mask)
        self._frames: list[tuple[int, torch.Tensor, list, list]] = []
        distances = [
            float(torch.dist(torch.tensor(h), torch.tensor(t))) for h, t in zip(handles, targets)
        ]
        self._add(0, self.ws_start, handles, distances)

    def on_step(self, state) -> None:
        """The drag loop's on_step: `state.step` updates are done after this one, so it is frame step + 1."""
        done = state.step + 1
        if done % self.every == 0:
            self._add(done, state.ws, state.handles, state.distances)

    def finish(self, steps: int, ws: torch.Tensor, handles, distances) -> Trajectory:
        """The trajectory with the drag's end (after `steps` updates, `ws`) as its last frame."""
        if self._frames[-1][0] == steps:
            self._frames.pop()
        if steps > 0 or not self._frames:
            self._add(steps, ws, handles, distances)
        n = len(self._frames)
        return _bounded(Trajectory(
            steps=torch.tensor([f[0] for f in self._frames], dtype=torch.long),
            ws_start=self.ws_start,
            dws=torch.cat([f[1] - self.ws_start for f in self._frames]),
            handles=torch.tensor([f[2] for f in self._frames], dtype=torch.float32).reshape(n, -1, 2),
            targets=torch.tensor([self.targets] * n, dtype=torch.float32).reshape(n, -1, 2),
            distances=torch.tensor([f[3] for f in self._frames], dtype=torch.float32).reshape(n, -1),
            stages=torch.zeros(n, dtype=torch.long),
            masks=None if self.mask is None else self.mask[None],
        ))  # fmt: skip

    def _add(self, step: int, ws: torch.Tensor, handles, distances) -> None:
        self._frames.append(
            (step, ws.detach().float().cpu(), [tuple(h) for h in handles], list(distances))
        )


def _bounded(trajectory: Trajectory) -> Trajectory:
    """Every second frame dropped until at most MAX_FRAMES remain; the first and last kept."""
    while len(trajectory) > MAX_FRAMES:
        n = len(trajectory)
        keep = torch.tensor(sorted(set(range(0, n, 2)) | {n - 1}))
        trajectory = Trajectory(
            *(
                getattr(trajectory, name)[keep] if name != "ws_start" else trajectory.ws_start
                for name in _FIELDS
            ),
            masks=trajectory.masks,
            counts=trajectory.counts,
        )
    return trajectory
