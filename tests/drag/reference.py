"""The test oracle: DragGAN's loss and tracking written straight from the formulas (SPEC §2).

Full synthesis, the whole feature map resized to image size (bilinear, as the official code),
Python loops over handles, patch pixels and window pixels. Slow on purpose; obviously right.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def resized_features(G, ws: torch.Tensor, block: int, noise_mode: str = "const") -> torch.Tensor:
    """F of block `block`, resized to the image size: [1, C, H, W]."""
    _image, feats = G.synthesis(ws, noise_mode=noise_mode, return_features=True)
    size = G.img_resolution
    return F.interpolate(feats[block], [size, size], mode="bilinear", align_corners=False)


def sample(feature_map: torch.Tensor, x: float, y: float) -> torch.Tensor:
    """Bilinear sample of an image-size map at (x, y): [C]."""
    size = feature_map.shape[-1]
    grid = torch.tensor(
        [[[[x / (size - 1) * 2 - 1, y / (size - 1) * 2 - 1]]]], dtype=feature_map.dtype
    )
    return F.grid_sample(feature_map, grid, mode="bilinear", align_corners=True)[0, :, 0, 0]


def motion_supervision_loss(
    feature_map, handles, targets, r1: float, stop_px: float
) -> torch.Tensor:
    """sum_i mean_{q in Omega1(p_i, r1)} mean_c |sg(F(q)) - F(q + d_i)|, handles beyond stop_px."""
    total = feature_map.sum() * 0
    reach = math.ceil(r1)
    for (px, py), (tx, ty) in zip(handles, targets):
        distance = math.hypot(tx - px, ty - py)
        if distance <= stop_px:
            continue
        dx, dy = (tx - px) / distance, (ty - py) / distance
        terms = []
        for oy in range(-reach, reach + 1):
            for ox in range(-reach, reach + 1):
                if math.hypot(ox, oy) < r1:
                    qx, qy = px + ox, py + oy
                    anchored = sample(feature_map, qx, qy).detach()
                    moved = sample(feature_map, qx + dx, qy + dy)
                    terms.append((anchored - moved).abs().mean())
        total = total + torch.stack(terms).mean()
    return total


def mask_term(feature_map, feature_map0, keep: torch.Tensor, lambda_mask: float) -> torch.Tensor:
    """lambda * mean over C x H x W of |(F - F0) * (1 - M)|."""
    return lambda_mask * ((feature_map - feature_map0) * keep).abs().mean()


def drag_loss(G, ws, ws0, handles, targets, keep, r1, stop_px, lambda_mask, block) -> torch.Tensor:
    """The whole loss of one step at code ws, with F0 from ws0."""
    feature_map = resized_features(G, ws, block)
    loss = motion_supervision_loss(feature_map, handles, targets, r1, stop_px)
    if keep is not None:
        with torch.no_grad():
            feature_map0 = resized_features(G, ws0, block)
        loss = loss + mask_term(feature_map, feature_map0, keep, lambda_mask)
    return loss


def track(feature_map, handles, references, r2: int, norm: str = "l2") -> list[tuple[float, float]]:
    """p_i := argmin over the window pixels of ||F(q) - f_i||, first in row order on ties."""
    size = feature_map.shape[-1]
    found = []
    for (px, py), reference in zip(handles, references):
        cx, cy = round(px), round(py)
        best, best_distance = None, math.inf
        for qy in range(max(cy - r2, 0), min(cy + r2, size - 1) + 1):
            for qx in range(max(cx - r2, 0), min(cx + r2, size - 1) + 1):
                diff = feature_map[0, :, qy, qx] - reference
                distance = float(diff.norm() if norm == "l2" else diff.abs().sum())
                if distance < best_distance:
                    best, best_distance = (float(qx), float(qy)), distance
        found.append(best)
    return found
