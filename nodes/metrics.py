"""Image quality figures shared by training, inversion and the benchmarks: PSNR.

One definition, so the training log, `bench toyfaces`, `bench invert` and the Invert node agree."""

from __future__ import annotations

import torch


def psnr(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB ([N]) of images in [-1, 1] (peak-to-peak 2); `fake` is clamped to
    that range first, as a saved image would be. No gradient flows through it."""
    mse = ((fake.detach().clamp(-1, 1) - real) / 2).square().flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))
