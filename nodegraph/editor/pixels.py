"""Engine values to Dear PyGui pixels: IMAGE tensors and MASK tensors to flat RGBA float arrays.

IMAGE is [1, 3, H, W] in [-1, 1] and MASK [H, W] in [0, 1] (port-type conventions, not imports)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

MASK_TINT = torch.tensor([0.25, 0.85, 0.45])  # green: the region the drag may change
MASK_ALPHA = 0.35


def as_image(value: Any) -> torch.Tensor | None:
    """An IMAGE-like value as a float CPU tensor [1, 3, H, W] in [-1, 1], or None."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
        if value.dtype == torch.uint8:  # [H, W, 3] uint8, as a preview may come
            value = value.float().div(127.5).sub(1).permute(2, 0, 1)
    if not isinstance(value, torch.Tensor):
        return None
    image = value.detach().float().cpu()
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or image.shape[1] not in (1, 3):
        return None
    return image[:1].expand(1, 3, *image.shape[2:]).clamp(-1, 1)


def resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """Square resize for thumbnails (area when shrinking, nearest when growing)."""
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    mode = "area" if size < image.shape[-1] else "nearest"
    return F.interpolate(image, size=(size, size), mode=mode)


def rgba(image: torch.Tensor, mask: torch.Tensor | None = None) -> np.ndarray:
    """Flat RGBA float32 in [0, 1], as a dynamic texture wants; `mask` marks the flexible area
    so it shows on any image: a light tint, dark/light diagonal hatching and an outline of a
    white ring inside its edge and a black one outside."""
    rgb = (image[0] + 1) / 2  # [3, H, W]
    if mask is not None:
        m = mask.detach().float().cpu()
        if m.shape != rgb.shape[1:]:
            # bilinear, so a mask coarser than the image has smooth edges, not blocks
            m = F.interpolate(m[None, None], size=rgb.shape[1:], mode="bilinear")[0, 0]
        rgb = rgb * (1 - MASK_ALPHA * m) + MASK_TINT[:, None, None] * (MASK_ALPHA * m)
        rgb = _mark_region(rgb, m > 0.5)
    h, w = rgb.shape[1:]
    out = torch.cat([rgb, torch.ones(1, h, w)], 0).permute(1, 2, 0)
    return out.contiguous().numpy().astype(np.float32).reshape(-1)


HATCH_PERIOD = 8  # pixels between hatch lines


def _mark_region(rgb: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Hatching inside the region (alternating dark and light lines) and its outline."""
    h, w = inside.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    phase = (xs + ys) % HATCH_PERIOD
    grown = F.max_pool2d(inside[None, None].float(), 3, 1, 1)[0, 0] > 0
    shrunk = -F.max_pool2d(-inside[None, None].float(), 3, 1, 1)[0, 0] > 0
    out = rgb.clone()
    out[:, inside & (phase == 0)] = 0.0
    out[:, inside & (phase == HATCH_PERIOD // 2)] = 1.0
    out[:, inside & ~shrunk] = 1.0  # a white ring inside the edge
    out[:, grown & ~inside] = 0.0  # a black ring outside it
    return out


def blank(size: int, value: float = 0.12) -> np.ndarray:
    """An opaque grey square, for a texture with no image yet."""
    out = np.full((size, size, 4), value, np.float32)
    out[..., 3] = 1.0
    return out.reshape(-1)
