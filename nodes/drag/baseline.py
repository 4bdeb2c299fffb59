"""The official DragGAN formulation of a step, for the benchmark's baseline: full synthesis with
the image, the whole feature map resized to image size, tracking and loss on that copy.

Same loss and tracking as the engine (SPEC §2); only the way of computing them differs. Handles
are assumed at integer pixels, as the official GUI makes them (the patch is the pixel grid).
Where the official renderer itself differs from SPEC §2 we follow the spec, at the same cost: it
detaches F(q - d) and moves F(q) (we detach F(q) and move F(q + d), paper eq. 1), and it pulls
every handle farther than 1 px (we stop pulling within stop_px, as the issue asks).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nodes.gan import Generator

from .config import ResolvedConfig
from .motion import unit_directions


class OfficialFormulation:
    """Per step: G.synthesis (image included), F.interpolate of F to h x w, then everything there."""

    def __init__(
        self,
        G: Generator,
        ws0: torch.Tensor,
        handles: torch.Tensor,
        keep: torch.Tensor | None,
        cfg: ResolvedConfig,
    ):
        if cfg.tracking != "nn":
            raise ValueError(
                f"the official formulation tracks with 'nn' only, got tracking={cfg.tracking!r}"
            )
        self.G, self.cfg, self.keep = G, cfg, keep
        size = cfg.image_size
        with torch.no_grad():
            self.feat0 = self.features(ws0)
        self.reference = [
            self.feat0[0, :, int(round(y)), int(round(x))] for x, y in handles.tolist()
        ]
        pixels = torch.arange(size, dtype=torch.float32, device=G.device)
        self.grid_y, self.grid_x = torch.meshgrid(pixels, pixels, indexing="ij")

    def features(self, ws: torch.Tensor, handles: torch.Tensor | None = None) -> torch.Tensor:
        _image, feats = self.G.synthesis(ws, noise_mode=self.cfg.noise_mode, return_features=True)
        size = self.cfg.image_size
        return F.interpolate(feats[self.cfg.feature_block], [size, size], mode="bilinear")

    def track(self, feat: torch.Tensor, handles: torch.Tensor) -> torch.Tensor:
        size, r = self.cfg.image_size, self.cfg.r2
        found = []
        with torch.no_grad():
            for (x, y), reference in zip(handles.round().int().tolist(), self.reference):
                top, bottom, left, right = (
                    max(y - r, 0),
                    min(y + r + 1, size),
                    max(x - r, 0),
                    min(x + r + 1, size),
                )
                window = feat[0, :, top:bottom, left:right] - reference.reshape(-1, 1, 1)
                distance = (
                    window.norm(dim=0)
                    if self.cfg.tracking_norm == "l2"
                    else window.abs().sum(dim=0)
                )
                index = int(distance.flatten().argmin())
                found.append([left + index % (right - left), top + index // (right - left)])
        return torch.tensor(found, dtype=torch.float32, device=handles.device)

    def loss(
        self, feat: torch.Tensor, handles: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        cfg, size = self.cfg, self.cfg.image_size
        directions, distances = unit_directions(handles, targets)
        loss = feat[0, 0, 0, 0] * 0  # a zero in the graph, without reading the whole map
        for (x, y), direction, distance in zip(handles.tolist(), directions, distances.tolist()):
            if distance <= cfg.stop_px:
                continue
            inside = ((self.grid_x - x) ** 2 + (self.grid_y - y) ** 2).sqrt() < cfg.r1
            rows, cols = torch.where(inside)
            grid_x = (cols + direction[0]) / (size - 1) * 2 - 1
            grid_y = (rows + direction[1]) / (size - 1) * 2 - 1
            grid = torch.stack([grid_x, grid_y], dim=-1).view(1, 1, -1, 2)
            moved = F.grid_sample(feat, grid, align_corners=True)[:, :, 0]  # [1, C, K]
            loss = loss + F.l1_loss(feat[:, :, rows, cols].detach(), moved)
        if self.keep is not None and bool((self.keep > 0).any()):
            keep = self.keep.view(1, 1, size, size)
            loss = loss + cfg.lambda_mask * F.l1_loss(feat * keep, self.feat0 * keep)
        return loss
