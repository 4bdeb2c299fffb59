"""The 'guarded' drag method: DragGAN's loop with template tracking, a confidence per handle and
a guard that stops pulling a handle whose tracking has collapsed (docs/DRAG_METHODS.md).

Drawn from StableDrag (confidence-aware tracking and supervision from the initial template where
confidence falls) and FreeDrag (the motion patch compared with a feature template).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nodes.gan import Generator

from .config import ResolvedConfig
from .features import disk_offsets, sample_as_resized, window_offsets
from .loop import SampledFormulation
from .motion import unit_directions
from .tracking import parabola_offsets


@dataclass(frozen=True)
class GuardSettings:
    """The guard's thresholds, on the confidence c = 1 - D(best) / D0 (D: the patch's feature
    distance to its template; D0: the median D of the starting window's other positions, so
    c = 1 is a perfect match and c <= 0 a match no better than a typical neighbour).

    - `template_below`: a handle less confident than this is supervised from its template.
    - `lost_below` for `patience` tracks in a row: the handle is lost; it is not pulled again.
    """

    template_below: float = 0.5
    lost_below: float = 0.0
    patience: int = 5


GUARD = GuardSettings()


@dataclass(frozen=True)
class GuardEvent:
    """A handle the guard stopped pulling: its index, the step, and its confidence then."""

    handle: int
    step: int
    confidence: float

    def describe(self) -> str:
        return (
            f"handle {self.handle} lost its tracking at step {self.step} "
            f"(confidence {self.confidence:.2f}); no longer pulled"
        )


class GuardedFormulation(SampledFormulation):
    """SampledFormulation whose tracking matches each handle's starting patch (the template
    T_i = F0(p_i + Omega1)) with sub-pixel refinement, whose motion patch is compared with T_i
    where the handle's confidence is low, and which stops pulling a lost handle."""

    def __init__(
        self,
        G: Generator,
        ws0: torch.Tensor,
        handles: torch.Tensor,
        keep: torch.Tensor | None,
        cfg: ResolvedConfig,
        crop_start_block: int | None = None,
        guard: GuardSettings | None = None,
    ):
        self.guard = guard or self.default_guard()  # read at run time: tests tighten it
        self.patch = disk_offsets(cfg.r1, device=handles.device)  # motion patch, [K, 2]
        self.track_patch = disk_offsets(self.track_radius(cfg), device=handles.device)
        self.track_reach = math.ceil(self.track_radius(cfg))  # whole pixels the patch reaches
        # patch matching reads a patch around each window pixel
        self.extra_reach = max(getattr(self, "extra_reach", 0), self.track_reach)
        super().__init__(G, ws0, handles, keep, cfg, crop_start_block)
        with torch.no_grad():
            feat0 = self.features(ws0, handles)
            self.template = sample_as_resized(
                feat0, handles.unsqueeze(1) + self.patch, cfg.image_size
            )  # T_i, the motion fallback: [N, K, C]
            self.track_template = self.tracking_features(feat0, handles.unsqueeze(1) + self.track_patch)
            distance = self._window_distances(feat0, handles.round())
            centre = distance.shape[1] // 2
            others = torch.cat([distance[:, :centre], distance[:, centre + 1 :]], dim=1)
            self.scale = others.nanmedian(dim=1).values.clamp_min(1e-8)  # D0, [N]
        n = len(handles)
        self.confidence = torch.ones(n, device=handles.device)
        self.low_runs = torch.zeros(n, dtype=torch.long, device=handles.device)
        self.lost = torch.zeros(n, dtype=torch.bool, device=handles.device)
        # Newly lost handles as the tracks found them, (step, [N] bool, confidences [N]) tensors:
        # read back only when `events` is asked for (after the drag), not with a sync a step.
        self._lost_at: list[tuple[int, torch.Tensor, torch.Tensor]] = []
        self.tracks = 0  # the loop tracks once per step after the first: this count is the step

    def default_guard(self) -> GuardSettings:
        return GUARD

    def track_radius(self, cfg: ResolvedConfig) -> float:
        """Radius of the patch tracking matches: the motion patch's, r1."""
        return cfg.r1

    def tracking_features(self, feat, points: torch.Tensor, whole_pixels: bool = False) -> torch.Tensor:
        """What tracking compares at image `points` ([..., 2]; `whole_pixels`: all whole) ->
        [..., C]: F itself."""
        return sample_as_resized(feat, points, self.cfg.image_size, whole_pixels)

    def shift(self, directions: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
        """How far each handle's patch is pulled this step ([N, 2]): one pixel along d_i."""
        return directions

    def pulled(self, distance: torch.Tensor) -> torch.Tensor:
        """The handles this step's loss pulls ([N] bool, from their distances to the targets):
        those farther than stop_px and not lost."""
        return (distance > self.cfg.stop_px) & ~self.lost

    def active(self) -> torch.Tensor:
        """The handles still pulled (and counted for convergence): those not lost."""
        return ~self.lost

    def _window_distances(
        self,
        feat,
        centres: torch.Tensor,
        patch: torch.Tensor | None = None,
        template: torch.Tensor | None = None,
        reach: int | None = None,
    ) -> torch.Tensor:
        """D at every window position ([N, W]) around whole-pixel `centres`: the mean over the
        tracking patch of the l2 (or l1) channel distance to the tracking template (or over
        `patch`, reaching `reach` whole pixels, to `template`); inf outside the image."""
        if patch is None:
            patch, template, reach = self.track_patch, self.track_template, self.track_reach
        size = self.cfg.image_size
        window = window_offsets(self.cfg.r2, device=centres.device)  # [W, 2]
        candidates = centres.unsqueeze(1) + window.unsqueeze(0)  # [N, W, 2]
        # Every point read is a whole pixel of the square `half` around the centre: sample that
        # square once and index it (W * K reads of the same few pixels otherwise).
        half = self.cfg.r2 + reach
        square = window_offsets(half, device=centres.device)  # [L * L, 2], row by row
        values = self.tracking_features(feat, centres.unsqueeze(1) + square.unsqueeze(0), whole_pixels=True)
        reach = (window.unsqueeze(1) + patch.unsqueeze(0) + half).long()  # [W, K, 2]
        pixel = reach[..., 1] * (2 * half + 1) + reach[..., 0]  # [W, K]: the square's pixel
        if self.cfg.tracking_norm == "l2":
            per_pixel = _l2_to_template(values, template, pixel)
        else:
            per_pixel = (values[:, pixel] - template.unsqueeze(1)).abs().sum(-1)
        distance = per_pixel.mean(dim=-1)
        inside = ((candidates >= 0) & (candidates <= size - 1)).all(dim=-1)
        return distance.masked_fill(~inside, float("inf"))

    # The per-handle state stacked in a batch (nodes.drag.stacked), as SampledFormulation's.
    fixed_state = ("template", "track_template", "scale")
    tracked_state = ("confidence", "low_runs", "lost")

    @torch.no_grad()
    def track(self, feat, handles: torch.Tensor) -> torch.Tensor:
        self.tracks += 1
        found, newly_lost = self.track_all(feat, handles)
        self.note_lost(newly_lost)
        return found

    @torch.no_grad()
    def track_all(self, feat, handles: torch.Tensor, tracked: torch.Tensor | None = None):
        """The handles tracked in `feat` (a lost handle stays put) and those newly lost ([N]
        bool), updating confidence, low_runs and lost: tensor work only, no device sync. With
        `tracked` ([N] bool), the other handles keep their positions and state (a stacked batch
        whose drags do not all track this step)."""
        centres = handles.round()
        distance = self._window_distances(feat.detach(), centres)
        best = distance.argmin(dim=1)
        rows = torch.arange(len(best), device=handles.device)
        found = self._best_positions(distance, best, centres)
        confidence = 1 - distance[rows, best] / self.scale
        low = confidence < self.guard.lost_below
        low_runs = torch.where(low, self.low_runs + 1, torch.zeros_like(self.low_runs))
        newly_lost = (low_runs >= self.guard.patience) & ~self.lost
        if tracked is not None:
            confidence = torch.where(tracked, confidence, self.confidence)
            low_runs = torch.where(tracked, low_runs, self.low_runs)
            newly_lost = newly_lost & tracked
            found = torch.where(tracked.unsqueeze(1), found, handles)
        self.confidence, self.low_runs = confidence, low_runs
        self.lost = self.lost | newly_lost
        return torch.where(self.lost.unsqueeze(1), handles, found), newly_lost

    def note_lost(self, newly_lost: torch.Tensor) -> None:
        """The handles of `newly_lost` ([N] bool) were lost at this track's step (`events`)."""
        self._lost_at.append((self.tracks, newly_lost, self.confidence))

    @property
    def events(self) -> list[GuardEvent]:
        """The handles the guard stopped pulling, in the order it did (GuardEvent)."""
        if not self._lost_at:
            return []
        steps, lost, confidence = zip(*self._lost_at)
        lost, confidence = torch.stack(lost), torch.stack(confidence)  # [tracks, N]
        found = zip(lost.nonzero().tolist(), confidence[lost].tolist())  # by step, then handle
        return [GuardEvent(handle, steps[row], value) for (row, handle), value in found]

    def _best_positions(self, distance: torch.Tensor, best: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        """The window positions `best` of `distance` ([N, W]) around `centres`, refined to a
        fraction of a pixel by a parabola through each axis' neighbours."""
        window = window_offsets(self.cfg.r2, device=centres.device)
        return centres + window[best] + parabola_offsets(distance, best, 2 * self.cfg.r2 + 1)

    def handle_losses(self, feat, handles: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Each handle's motion term ([N]; zero, in the graph, for a handle not pulled): every
        handle's patch is sampled and the unpulled masked out, so the shapes never depend on the
        data (no device sync; a stacked batch's drags in one pass)."""
        cfg = self.cfg
        directions, distance = unit_directions(handles, targets)
        directions = self.shift(directions, distance)
        pulled = self.pulled(distance)
        patch = handles.unsqueeze(1) + self.patch.unsqueeze(0)  # [N, K, 2]
        # The shifted patch and the patch itself, sampled in one call (fewer ops a step).
        both = sample_as_resized(feat, torch.stack([patch + directions.unsqueeze(1), patch], 1), cfg.image_size)
        moved, current = both[:, 0], both[:, 1].detach()
        with torch.no_grad():
            use_template = (self.confidence < self.guard.template_below).view(-1, 1, 1)
            anchored = torch.where(use_template, self.template, current)
        per_handle = (anchored - moved).abs().mean(dim=(1, 2))
        return torch.where(pulled, per_handle, torch.zeros_like(per_handle))


def _l2_to_template(values: torch.Tensor, template: torch.Tensor, pixel: torch.Tensor) -> torch.Tensor:
    """||values[n, pixel[w, k]] - template[n, k]|| ([N, W, K]) for values [N, P, C] and template
    [N, K, C], from ||v||^2 + ||t||^2 - 2 v.t: one [P, C] x [C, K] product per handle, where the
    difference would build an [N, W, K, C] tensor (20 handles: 4.9 M values a step)."""
    cross = values @ template.transpose(1, 2)  # [N, P, K]
    patch = torch.arange(pixel.shape[1], device=pixel.device).expand_as(pixel)
    squared = (
        values.square().sum(-1)[:, pixel]
        + template.square().sum(-1).unsqueeze(1)
        - 2 * cross[:, pixel, patch]
    )
    return squared.clamp_min(0).sqrt()
