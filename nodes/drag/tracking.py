"""Point tracking (SPEC §2): find each handle again in the new feature map by matching the
handle's feature in the starting image, f_i = F0(p_i), inside the square window Omega2(p_i, r2).

Modes (DragConfig.tracking):
- 'nn': the paper's nearest neighbour over the integer pixels of the window (official code).
- 'subpixel': 'nn', then a parabola through the distances of the best pixel and its left/right
  (up/down) neighbours moves the match by at most half a pixel on each axis; removes the
  rounding error that otherwise accumulates over hundreds of steps.
- 'consistent': 'nn' that refuses a jump longer than `max_jump_px` from the previous position:
  one step moves the content about a pixel, so a far match is a false one (typical on
  textureless regions, where noise decides the nearest neighbour anywhere in the window).
"""

from __future__ import annotations

import torch

from .features import sample_as_resized, window_offsets


def feature_distance(
    features: torch.Tensor, reference: torch.Tensor, norm: str = "l2"
) -> torch.Tensor:
    """||features - reference|| over the last (channel) dimension: 'l2' (official) or 'l1' (paper)."""
    diff = features - reference
    return diff.norm(dim=-1) if norm == "l2" else diff.abs().sum(dim=-1)


@torch.no_grad()
def track_points(
    feat: torch.Tensor,
    handles: torch.Tensor,
    reference: torch.Tensor,
    image_size: int,
    r2: int,
    mode: str = "nn",
    norm: str = "l2",
    max_jump_px: float = 2.0,
) -> torch.Tensor:
    """New handle positions ([N, 2], (x, y) image pixels) in feature map `feat`.

    `reference` ([N, C]) holds f_i; the window is centred on the rounded previous position and
    clipped to the image, as in the official code. Ties go to the first pixel in row order."""
    centres = handles.round()
    offsets = window_offsets(r2, device=feat.device)
    candidates = centres.unsqueeze(1) + offsets.unsqueeze(0)  # [N, K, 2]
    features = sample_as_resized(feat.detach(), candidates, image_size, whole_pixels=True)  # [N, K, C]
    distance = feature_distance(features, reference.unsqueeze(1), norm)  # [N, K]
    inside = ((candidates >= 0) & (candidates <= image_size - 1)).all(dim=-1)
    distance = distance.masked_fill(~inside, float("inf"))
    if mode == "consistent":
        too_far = offsets.norm(dim=-1) > max_jump_px  # the centre itself is always allowed
        distance = distance.masked_fill(too_far.unsqueeze(0), float("inf"))
    best = distance.argmin(dim=1)
    found = candidates[torch.arange(len(best), device=feat.device), best]
    if mode == "subpixel":
        found = found + parabola_offsets(distance, best, 2 * r2 + 1)
    return found


def parabola_offsets(distance: torch.Tensor, best: torch.Tensor, width: int) -> torch.Tensor:
    """Sub-pixel offset of each minimum ([N, 2]): vertex of the parabola through the distances at
    best - 1, best, best + 1 on each axis; zero where a neighbour is missing or the fit is flat.
    Both axes at once ([N, 2] columns x, y): a step's few ops, not a loop's."""
    position = torch.stack([best % width, best // width], dim=1)  # [N, 2]: column, row
    stride = torch.tensor([1, width], device=best.device)
    last = distance.shape[1] - 1
    before = distance.gather(1, (best.unsqueeze(1) - stride).clamp(0, last))
    after = distance.gather(1, (best.unsqueeze(1) + stride).clamp(0, last))
    centre = distance.gather(1, best.unsqueeze(1))
    curvature = before - 2 * centre + after
    has_both = (position > 0) & (position < width - 1)
    valid = has_both & torch.isfinite(before) & torch.isfinite(after) & (curvature > 0)
    shift = (before - after) / (2 * curvature.where(valid, torch.ones_like(curvature)))
    return torch.where(valid, shift.clamp(-0.5, 0.5), torch.zeros_like(shift))
