"""Checks of drag() inputs, turning them into tensors on the generator's device.

Every problem is a ValueError that names the argument and says what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from nodes.gan import Generator


def drag_dtype(G: Generator) -> torch.dtype:
    """The drag's float type: float32, or float64 for a generator made .double() (the drag
    benchmark's exactness pass compares formulations there, free of float32 rounding)."""
    return torch.float64 if next(G.parameters()).dtype == torch.float64 else torch.float32


def prepare_ws(G: Generator, ws: torch.Tensor) -> torch.Tensor:
    """The starting W+ code [1, num_ws, w_dim] from a W+ code or a w ([1, w_dim])."""
    if not isinstance(ws, torch.Tensor):
        raise ValueError(f"ws must be a torch.Tensor, got {type(ws).__name__}")
    wplus_shape, w_shape = [1, G.num_ws, G.w_dim], [1, G.w_dim]
    if list(ws.shape) == w_shape:
        ws = ws.unsqueeze(1).repeat(1, G.num_ws, 1)
    elif list(ws.shape) != wplus_shape:
        raise ValueError(
            f"ws must have shape {wplus_shape} (W+) or {w_shape} (w), got {list(ws.shape)}"
        )
    if not bool(torch.isfinite(ws).all()):
        raise ValueError("ws contains NaN or infinite values")
    return ws.detach().to(device=G.device, dtype=drag_dtype(G)).clone()


def prepare_points(
    name: str,
    points: Sequence | torch.Tensor,
    image_size: int,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """(x, y) image-pixel points as a float tensor [N, 2], each inside [0, image_size - 1]."""
    try:
        tensor = torch.as_tensor(points, dtype=torch.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a sequence of (x, y) pairs: {error}") from None
    if tensor.ndim != 2 or tensor.shape[1] != 2 or tensor.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty sequence of (x, y) pairs, got shape {list(tensor.shape)}"
        )
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    outside = ((tensor < 0) | (tensor > image_size - 1)).any(dim=1)
    if bool(outside.any()):
        index = int(outside.nonzero()[0])
        x, y = tensor[index].tolist()
        raise ValueError(
            f"{name}[{index}] = ({x:g}, {y:g}) is outside the {image_size}x{image_size} image; "
            f"coordinates must lie in [0, {image_size - 1}]"
        )
    return tensor.to(device=device, dtype=dtype)


def prepare_pairs(
    handles, targets, image_size: int, device: torch.device, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """Handles and targets as [N, 2] tensors of the same length."""
    handle_points = prepare_points("handles", handles, image_size, device, dtype)
    target_points = prepare_points("targets", targets, image_size, device, dtype)
    if len(handle_points) != len(target_points):
        raise ValueError(
            f"handles and targets must have the same length, got {len(handle_points)} and {len(target_points)}"
        )
    return handle_points, target_points


def prepare_keep(
    mask: torch.Tensor | None,
    image_size: int,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor | None:
    """keep = 1 - M ([H, W]) from the mask M (1 = may change, 0 = keep), or None without a mask."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise ValueError(
            f"mask must be a torch.Tensor of shape [{image_size}, {image_size}] or None, got {type(mask).__name__}"
        )
    if list(mask.shape) != [image_size, image_size]:
        raise ValueError(
            f"mask must have shape [{image_size}, {image_size}] (the image size), got {list(mask.shape)}"
        )
    mask = mask.detach().to(device=device, dtype=dtype)
    if not bool(torch.isfinite(mask).all()) or bool((mask < 0).any()) or bool((mask > 1).any()):
        raise ValueError("mask values must be finite and in [0, 1] (1 = may change, 0 = keep)")
    return 1 - mask
