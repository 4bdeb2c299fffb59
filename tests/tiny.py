"""Tiny random-weight generators for tests: small enough for two CPU cores."""

from __future__ import annotations

import torch

from nodes.gan import Generator, GeneratorConfig


def make_tiny_generator(resolution: int = 32, seed: int = 0, noise: bool = True, **overrides) -> Generator:
    """A random-weight StyleGAN2 small enough for unit tests; weights depend only on seed.

    Noise strengths and biases are made non-zero so tests exercise every term."""
    cfg = dict(z_dim=16, w_dim=16, img_resolution=resolution, channel_base=32 * resolution, channel_max=32, mapping_layers=2)
    cfg.update(overrides)
    torch.manual_seed(seed)
    G = Generator(GeneratorConfig(**cfg))
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength") and noise:
                p.fill_(0.1)
            elif name.endswith(".bias") and "affine" not in name:
                p.normal_(0, 0.1)
        G.mapping.w_avg.normal_(0, 0.5)
    return G.eval().requires_grad_(False)

