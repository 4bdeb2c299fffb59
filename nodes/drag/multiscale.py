"""The 'multiscale' drag method: the guarded loop whose tracking matches a wider patch on two
feature scales, F and the block below it, and whose last pull stops at the target
(docs/DRAG_METHODS.md).

Why: on smooth regions and along contours F's small patch (radius r1) matches nearly as well a
pixel or two further along, so the tracked handle slides while the content stays; the block below
sees twice the context per pixel, and a patch of radius r1 + TRACK_MARGIN takes in the nearest
edge. Motion supervision reads F on radius r1 as before; its shift is min(1, distance left) px,
and a handle already within stop_px is still pulled that fraction while the others move.

When every handle has arrived, the arrival check matches a wider patch still (radius r1 +
ARRIVAL_MARGIN): on a long drag the step-by-step tracker runs ahead of the content (motion
supervision copies the patch a pixel ahead before the face has moved there), and the wide patch
finds where the content really is. Handles found short of their targets are pulled on from there,
at most ARRIVAL_CHECKS times a drag."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nodes.gan import Generator

from .config import ResolvedConfig
from .features import disk_offsets, sample_as_resized
from .guarded import GuardedFormulation, GuardSettings

TRACK_MARGIN = 2.0  # image pixels the tracking patch reaches past the motion patch (r1)

# The arrival check's patch reaches r1 + 6 px. Used at every step (as the tracking patch) it stalls
# drags: the small pulled patch moves before the content around it, and the wide patch waits for
# the content, so the pull stays put (one handle, 64 held-out pairs: pairs ending 2.5 and 5.7 px
# short at step 300). Used only to confirm an arrival, at most 3 times a drag, it took one handle
# on those pairs from 1.34 to 1.15 px mean (median 0.96 -> 0.65) for 76 steps a drag against 67;
# 1 check: 1.21 px; 6: 1.14 px in 81 steps; unbounded: 1.09 px in 119 steps.
ARRIVAL_MARGIN = 6.0
ARRIVAL_CHECKS = 3

# A handle within stop_px is still pulled while others are not there (guarded: not pulled, so it
# drifts as the face moves for the others). Five handles, 48 held-out pairs in three sets of 16:
# 0.966 / 0.861 / 0.979 -> 0.935 / 0.831 / 0.903 px (0.935 -> 0.890 mean), the same time a step.
# One handle is never pulled within stop_px (its drag ends, or is checked, on arrival). HOLD_PX:
# nearer than this there is no direction worth pulling along.
HOLD_PX = 0.05

# Distances on two scales and a wider patch grow more as the face's geometry changes than F's
# small patch: a handle tracked well still reads c down to about -0.3 on the landmark pairs, so
# the 'lost' threshold sits lower than the guarded method's 0. The motion patch is compared with
# the template below c = 0.8 (guarded: 0.5): on held-out landmark pairs (seeds 3,001,000+) that
# took 1 / 5 / 20 handles from 0.81 / 0.98 / 1.33 px to 0.76 / 0.96 / 1.23 px; always (c < inf)
# cost the single handle (0.88 px), never (c < -inf) the twenty (lost handles, 1.33 px on six
# benchmark pairs against 1.13).
MULTISCALE_GUARD = GuardSettings(template_below=0.8, lost_below=-0.5, patience=5)


@dataclass(frozen=True)
class Relocation:
    """An arrival the check did not confirm: the step, and how far (px) it moved each handle."""

    step: int
    moved_px: tuple[float, ...]


class MultiscaleFormulation(GuardedFormulation):
    """GuardedFormulation tracking on [block feature_block - 1, F] channels, radius r1 + 2."""

    keeps_lower = True  # the block below F, read by tracking

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
        super().__init__(G, ws0, handles, keep, cfg, crop_start_block, guard)
        self.ws0, self.handles0 = ws0, handles
        self.arrival_patch = disk_offsets(cfg.r1 + ARRIVAL_MARGIN, device=handles.device)
        self.arrival_reach = math.ceil(cfg.r1 + ARRIVAL_MARGIN)  # past the step's crops
        self.arrival_template: torch.Tensor | None = None  # made at the first check
        self.arrival_checks = 0
        self.relocations: list[Relocation] = []
        self.skip_track = False  # the step after a re-location keeps it

    def default_guard(self) -> GuardSettings:
        return MULTISCALE_GUARD

    def track_radius(self, cfg: ResolvedConfig) -> float:
        return cfg.r1 + TRACK_MARGIN

    def shift(self, directions: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
        """One pixel along d_i, or the distance left where that is less: a handle 0.4 px away is
        pulled 0.4 px, not past its target (with the finer tracking, the last steps otherwise
        swing the handle across it)."""
        return directions * distance.clamp(max=1.0).unsqueeze(-1)

    def pulled(self, distance: torch.Tensor) -> torch.Tensor:
        """Every handle not lost and not on its target (within HOLD_PX), settled ones included:
        while the others are still pulled, a handle within stop_px is pulled its remaining
        fraction of a pixel (shift()), so it holds its target instead of drifting off it."""
        return (distance > HOLD_PX) & ~self.lost

    def tracking_features(self, feat, points: torch.Tensor, whole_pixels: bool = False) -> torch.Tensor:
        """F's channels and the block below's, each sampled as resized to the image."""
        size = self.cfg.image_size
        below = self.lower_maps.get(self.cfg.feature_block - 1)
        values = [sample_as_resized(feat, points, size, whole_pixels)]
        if below is not None:
            values.insert(0, sample_as_resized(below, points, size, whole_pixels))
        return torch.cat(values, dim=-1)

    @torch.no_grad()
    def check_arrival(self, ws: torch.Tensor, handles: torch.Tensor, targets: torch.Tensor):
        """Every handle tracked within stop_px: where the wide patch finds the content, or None
        when it agrees (or the checks are spent). Lost handles stay put."""
        if self.arrival_checks >= ARRIVAL_CHECKS:
            return None
        self.arrival_checks += 1
        found = torch.where(self.lost.unsqueeze(1), handles, self.locate(ws, handles))
        arrived = ((targets - found).norm(dim=-1) <= self.cfg.stop_px) | self.lost
        if bool(arrived.all()):
            return None
        moved = (found - handles).norm(dim=-1).tolist()
        self.relocations.append(Relocation(self.tracks, tuple(round(m, 2) for m in moved)))
        self.skip_track = True
        return found

    @torch.no_grad()
    def locate(self, ws: torch.Tensor, handles: torch.Tensor) -> torch.Tensor:
        """Where the arrival patch matches its starting template best, in the r2 window around
        each handle, to a fraction of a pixel."""
        reach = self.arrival_reach
        if self.arrival_template is None:
            start = self.handles0.unsqueeze(1) + self.arrival_patch
            self.arrival_template = self.tracking_features(self.features(self.ws0, self.handles0, reach), start)
        feat = self.features(ws, handles, reach)
        centres = handles.round()
        distance = self._window_distances(feat, centres, self.arrival_patch, self.arrival_template, reach)
        return self._best_positions(distance, distance.argmin(dim=1), centres)

    def track(self, feat, handles: torch.Tensor) -> torch.Tensor:
        """GuardedFormulation.track, except on the step after a re-location: the tracker would
        find the copy ahead again, so the handles are pulled once from where the check put them."""
        if self.skip_track:
            self.skip_track = False
            self.tracks += 1
            return handles
        return super().track(feat, handles)
