"""The drag as it happened: every K-th step's W+ code, tracked handles, targets and distances.

A Trajectory re-renders any recorded frame (one synthesis each); chained stages concatenate into one film."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

TRAJECTORY = "TRAJECTORY"
# Bound on recorded frames: past it every second frame is dropped (the first and last kept), so a
# trajectory holds at most MAX_FRAMES * num_ws * w_dim * 4 bytes of codes (e.g. 16 * 512 * 4 *
# 256 = 8 MiB for a 16-row W+ at w_dim 512) plus the points.
MAX_FRAMES = 256


@dataclass
class Trajectory:
    """Frames of a drag: `steps` [F] (updates applied so far, counted across chained stages),
    `ws_start` [1, num_ws, w_dim] and `dws` [F, num_ws, w_dim] (each frame's code minus the start),
    `handles`, `targets` [F, N, 2] in pixels and `distances` [F, N]; `stages` [F] numbers the
    chained stage each frame belongs to. A frame's handles are those its last step's loss pulled
    (tracked before that update); the last frame's are tracked at its own code."""

    steps: torch.Tensor
    ws_start: torch.Tensor
    dws: torch.Tensor
    handles: torch.Tensor
    targets: torch.Tensor
    distances: torch.Tensor
    stages: torch.Tensor

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def ws(self, index: int) -> torch.Tensor:
        """The W+ code of frame `index`: [1, num_ws, w_dim]."""
        return self.ws_start + self.dws[index : index + 1]

    def then(self, later: Trajectory) -> Trajectory:
        """This film followed by `later` (a stage that started where this one ended): its steps
        continue this one's count, its first frame (this one's last code again) is dropped."""
        if later.dws.shape[1:] != self.dws.shape[1:]:
            raise ValueError(
                f"cannot chain trajectories of W+ shape {tuple(self.dws.shape[1:])} and {tuple(later.dws.shape[1:])}: the stages use different generators"
            )
        if later.handles.shape[1] != self.handles.shape[1]:
            later_handles = later.handles.shape[1]
            raise ValueError(
                f"cannot chain trajectories of {self.handles.shape[1]} and {later_handles} points: give both stages the same number of pairs"
            )
        rest = slice(1, None)
        offset = self.steps[-1]
        dws = later.ws_start + later.dws[rest] - self.ws_start
        return _bounded(Trajectory(
            steps=torch.cat([self.steps, later.steps[rest] + offset]),
            ws_start=self.ws_start,
            dws=torch.cat([self.dws, dws]),
            handles=torch.cat([self.handles, later.handles[rest]]),
            targets=torch.cat([self.targets, later.targets[rest]]),
            distances=torch.cat([self.distances, later.distances[rest]]),
            stages=torch.cat([self.stages, later.stages[rest] + self.stages[-1] + 1]),
        ))  # fmt: skip

    def save(self, path: str | Path) -> None:
        """A sidecar of plain tensors, reopened with `load` (torch's weights_only loader: no code runs)."""
        torch.save({name: getattr(self, name).cpu() for name in _FIELDS}, path)

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        data = torch.load(path, map_location="cpu", weights_only=True)
        missing = [name for name in _FIELDS if name not in data]
        if missing:
            raise ValueError(
                f"{path}: not a trajectory sidecar (missing {missing}); save it with Trajectory.save"
            )
        return cls(**{name: data[name] for name in _FIELDS})


_FIELDS = ("steps", "ws_start", "dws", "handles", "targets", "distances", "stages")


class TrajectoryRecorder:
    """Collects the frames of one drag: the start, every `every`-th step, and the end."""

    def __init__(self, ws_start: torch.Tensor, handles, targets, every: int) -> None:
        if every < 1:
            raise ValueError(f"trajectory_every must be at least 1, got {every}")
        self.every = every
        self.ws_start = ws_start.detach().float().cpu()
        self.targets = [tuple(t) for t in targets]
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
            )
        )
    return trajectory
