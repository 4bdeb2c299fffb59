"""The mask overlay's pixels, without a display: a mask coarser than its image blends smoothly."""

from __future__ import annotations

import numpy as np
import torch

from nodegraph.editor.pixels import MASK_ALPHA, MASK_TINT, rgba


def test_a_coarse_mask_is_tinted_with_smooth_edges_not_blocks():
    """Issue 25 item 9: a 16 px mask on a 64 px image (each mask pixel 4x4 image pixels)."""
    mask = torch.zeros(16, 16)
    mask[4:12, 4:12] = 1.0
    black = -torch.ones(1, 3, 64, 64)
    pixels = rgba(black, mask).reshape(64, 64, 4)
    # along a row across the region's left edge (the outline's black and white pixels aside),
    # the tint's green takes values between none and full, as a bilinear blend does; nearest
    # scaling (the blocky overlay) gives only 0 and full
    row = pixels[30, :, 1]
    full = float(MASK_TINT[1]) * MASK_ALPHA
    ramp = {round(float(v), 4) for v in row[8:24] if 0.02 * full < v < 0.98 * full}
    assert len(ramp) >= 2, row[8:24]
    assert np.isclose(row[0], 0.0) and np.isclose(row[20], full, atol=1e-3)
