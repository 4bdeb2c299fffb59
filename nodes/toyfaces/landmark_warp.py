"""The start image moved by the smooth motion its landmarks describe: what a drag that only moves
content (and creates none) could reach at best.

A thin-plate spline (Bookstein 1989) through the landmark pairs gives a displacement at every
pixel: exact at the landmarks (or, with `smoothing` > 0, close to them and smoother between), and
an affine map far from them. `nodegraph bench landmarks-oracle` warps the start render with it
and scores the result against the target render, beside the landmark-equivalent target: the gap
between the two is what moving the start face's content cannot give (an eyelid redrawn, an
outline that is an ellipse again after the head turned, teeth that a closed mouth hides).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

PointMap = Callable[[torch.Tensor], torch.Tensor]


def _radial(r2: torch.Tensor) -> torch.Tensor:
    """The spline's kernel U(r) = r^2 log r, written in r^2 (0 at r = 0)."""
    return torch.where(r2 > 0, 0.5 * r2 * torch.log(r2.clamp_min(1e-300)), torch.zeros_like(r2))


def thin_plate_spline(
    source: torch.Tensor, destination: torch.Tensor, smoothing: float = 0.0
) -> PointMap:
    """The map f with f(source[i]) = destination[i] ([K, 2] each, as (x, y)) that bends least;
    `smoothing` (in px^2) trades exactness at the points for a smoother map (the larger, the
    nearer the affine least-squares fit). Coincident points are allowed (least squares). Returns f: [N, 2] -> [N, 2]."""
    src = torch.as_tensor(source, dtype=torch.float64).reshape(-1, 2)
    dst = torch.as_tensor(destination, dtype=torch.float64).reshape(-1, 2)
    if src.shape != dst.shape:
        raise ValueError(f"thin_plate_spline: {len(src)} source points but {len(dst)} destinations")
    n = len(src)
    affine = torch.cat([torch.ones(n, 1, dtype=src.dtype), src], dim=1)
    system = torch.zeros(n + 3, n + 3, dtype=src.dtype)
    system[:n, :n] = _radial(torch.cdist(src, src).square()) + smoothing * torch.eye(
        n, dtype=src.dtype
    )
    system[:n, n:] = affine
    system[n:, :n] = affine.T
    rhs = torch.zeros(n + 3, 2, dtype=src.dtype)
    rhs[:n] = dst
    coefficients = torch.linalg.lstsq(system, rhs, driver="gelsd").solution

    def mapped(points: torch.Tensor) -> torch.Tensor:
        pts = torch.as_tensor(points, dtype=torch.float64).reshape(-1, 2)
        bend = _radial(torch.cdist(pts, src).square()) @ coefficients[:n]
        return (
            bend
            + torch.cat([torch.ones(len(pts), 1, dtype=pts.dtype), pts], dim=1) @ coefficients[n:]
        )

    return mapped


def warp_image(image: torch.Tensor, source_of: PointMap) -> torch.Tensor:
    """image [N, C, H, W] resampled so that output pixel (x, y) shows the input at source_of((x, y))
    (pixel-centre coordinates, bilinear, the border repeated)."""
    height, width = image.shape[-2:]
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    source = source_of(torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1))
    scale = torch.tensor([width, height], dtype=torch.float64)
    grid = (
        ((source + 0.5) / scale * 2 - 1).reshape(1, height, width, 2).expand(len(image), -1, -1, -1)
    )
    return F.grid_sample(
        image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )


def landmark_warp(
    image: torch.Tensor, landmarks: torch.Tensor, targets: torch.Tensor, smoothing: float = 100.0
) -> torch.Tensor:
    """`image` with its content moved from `landmarks` to `targets` ([K, 2] each) by the thin-plate
    spline's smooth motion (the backward map, targets -> landmarks, is the one sampled)."""
    return warp_image(image, thin_plate_spline(targets, landmarks, smoothing))
