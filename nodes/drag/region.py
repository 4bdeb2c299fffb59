"""The region of interest of one drag step: the feature-block pixels that point tracking and
motion supervision read around each handle (SPEC §2), as windows for cropped synthesis.
"""

from __future__ import annotations

import math

import torch

from nodes.gan.crop import Window

from .features import resize_source_coordinate


def step_reach(r1: float, r2: int) -> int:
    """Image pixels around a handle's rounded position that one step may read: tracking reaches
    r2 (+ 0.5 in 'subpixel' mode); around any position it finds, the motion patch's offsets are
    below r1 (at most ceil(r1) - 1), the shift d at most 1, and each bilinear sample also reads
    the pixel after its floor: r2 + 0.5 + ceil(r1) - 1 + 1 rounded up, plus 1."""
    return r2 + math.ceil(r1) + 1


def feature_windows(
    handles: torch.Tensor, image_size: int, feature_size: int, reach: int
) -> list[Window]:
    """Per handle ([N, 2] image (x, y)), the window of the block's map that the image pixels
    within `reach` of it read: each image pixel reads the map bilinearly at its resize source
    coordinate (features.sample_as_resized), i.e. at floor(source) and the pixel after."""
    windows = []
    for x, y in handles.detach().round().tolist():
        corners = torch.tensor(
            [[x - reach, y - reach], [x + reach, y + reach]], dtype=torch.float64
        )
        source = resize_source_coordinate(corners, image_size, feature_size).floor()
        (left, top), (right, bottom) = source.int().tolist()
        right, bottom = min(right + 1, feature_size - 1), min(bottom + 1, feature_size - 1)
        windows.append(Window(top, left, bottom - top + 1, right - left + 1))
    return windows
