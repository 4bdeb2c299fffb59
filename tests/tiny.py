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



def make_tiny_stylegan3(variant: str = "T", resolution: int = 16, seed: int = 0, **overrides):
    """A random-weight StyleGAN3 ('T' or 'R') small enough for unit tests; weights depend only on
    seed. Biases, w_avg, the input's affine and the magnitude EMAs are perturbed (NVIDIA's init
    leaves them at 0, 0, 0 and 1) so tests exercise every term. 6 layers: feature block 5 exists."""
    from nodes.gan import StyleGAN3Config, StyleGAN3Generator

    radial = variant == "R"
    cfg = dict(
        z_dim=8,
        w_dim=8,
        img_resolution=resolution,
        num_layers=6,
        channel_base=32 * resolution,
        channel_max=8,
        conv_kernel=1 if radial else 3,
        use_radial_filters=radial,
    )
    cfg.update(overrides)
    torch.manual_seed(seed)
    G = StyleGAN3Generator(StyleGAN3Config(**cfg))
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.1)
        G.synthesis.input.affine.weight.normal_(0, 0.3)
        G.mapping.w_avg.normal_(0, 0.5)
        for layer in G.synthesis.layers():
            layer.magnitude_ema.fill_(float(torch.rand([]) * 2 + 0.3))
    return G.eval().requires_grad_(False)
