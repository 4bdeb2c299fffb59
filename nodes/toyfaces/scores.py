"""How close the bundled generator is to the renderer: PSNR, sharpness, style mixing and w_avg,
on held-out latents. Shared by training (its log) and `nodegraph bench toyfaces`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from nodes.gan import Generator
from nodes.metrics import psnr

from .latent_space import face_params, mix_ws, mixed_face_params, z_for_seeds
from .render import render_batch

HELD_OUT_SEEDS = range(1_000_000, 1_000_256)  # never used in training (training draws seeds < 10**6)
HELD_OUT_MIX_SEEDS = range(1_000_256, 1_000_512)  # the fine-row partners of HELD_OUT_SEEDS
MIX_CROSSOVER = 6  # rows DragGAN optimises (DragConfig.layers): geometry lives there, colour after

# 3x3 Laplacian [0 1 0; 1 -4 1; 0 1 0], applied to each colour channel on its own.
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_energy(images: torch.Tensor) -> torch.Tensor:
    """Per-image mean |Laplacian| over pixels and channels: how much fine detail there is."""
    channels = images.shape[1]
    kernel = _LAPLACIAN.to(images).expand(channels, 1, 3, 3)
    return F.conv2d(images.clamp(-1, 1), kernel, groups=channels).abs().flatten(1).mean(1)


@torch.no_grad()
def held_out_fidelity(G: Generator, n: int = 64, batch: int = 32, detector=None) -> dict:
    """PSNR of G(z) against the render of z's parameters, and the high-frequency ratio
    (mean |Laplacian| of G(z) over the render's; 1 = as sharp), on n held-out z. With a landmark
    `detector`, also the mean distance of the landmarks found on G(z) from the true ones, and on
    the renders themselves (the detector's own error: the floor)."""
    seeds = list(HELD_OUT_SEEDS)[:n]
    scores, fake_hf, real_hf, errors, render_errors = [], [], [], [], []
    for i in range(0, n, batch):
        z = z_for_seeds(seeds[i : i + batch])
        real, truth = render_batch(params=face_params(z), size=G.img_resolution)
        fake = G(z.to(G.device), noise_mode="const").clamp(-1, 1).cpu()
        scores.append(psnr(fake, real))
        fake_hf.append(laplacian_energy(fake))
        real_hf.append(laplacian_energy(real))
        if detector is not None:
            errors.append(_landmark_error(detector, fake, truth))
            render_errors.append(_landmark_error(detector, real, truth))
    figures = {
        "n": n,
        "psnr_db": float(torch.cat(scores).mean()),
        "high_frequency_ratio": float(torch.cat(fake_hf).mean() / torch.cat(real_hf).mean()),
    }
    if detector is not None:
        figures["landmark_error_px"] = float(torch.cat(errors).mean())
        figures["detector_error_on_renders_px"] = float(torch.cat(render_errors).mean())
    return figures


@torch.no_grad()
def mixing_fidelity(
    G: Generator, n: int = 64, batch: int = 32, detector=None, crossover: int = MIX_CROSSOVER
) -> dict:
    """Style mixing on n held-out pairs: rows [0, crossover) from z_a, the rest from z_b, against
    the render of a's geometry and hair shape with b's colours (`mixed_face_params`). PSNR, and
    with a `detector` the landmark error against a's landmarks."""
    seeds_a, seeds_b = list(HELD_OUT_SEEDS)[:n], list(HELD_OUT_MIX_SEEDS)[:n]
    scores, errors = [], []
    for i in range(0, n, batch):
        z_a, z_b = z_for_seeds(seeds_a[i : i + batch]), z_for_seeds(seeds_b[i : i + batch])
        real, truth = render_batch(params=mixed_face_params(z_a, z_b), size=G.img_resolution)
        ws = mix_ws(G.mapping(z_a.to(G.device)), G.mapping(z_b.to(G.device)), crossover)
        fake = G.synthesis(ws, noise_mode="const").clamp(-1, 1).cpu()
        scores.append(psnr(fake, real))
        if detector is not None:
            errors.append(_landmark_error(detector, fake, truth))
    figures = {"n": n, "crossover": crossover, "psnr_db": float(torch.cat(scores).mean())}
    if detector is not None:
        figures["landmark_error_px"] = float(torch.cat(errors).mean())
    return figures


@torch.no_grad()
def mean_w(G: Generator, n: int = 4096, seed: int = 0, batch: int = 1024) -> torch.Tensor:
    """The mean of mapping(z) over n standard normal z: what `mapping.w_avg` should hold."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    for i in range(0, n, batch):
        z = torch.randn(min(batch, n - i), G.z_dim, generator=gen)
        total += G.mapping(z.to(G.device))[:, 0].double().sum(0).cpu()
    return (total / n).float()


def w_avg_error(G: Generator, n: int = 4096) -> float:
    """|w_avg - mean w| / |mean w|: 0 when truncation pulls towards the true centre of W."""
    centre = mean_w(G, n)
    return float((G.mapping.w_avg.float().cpu() - centre).norm() / centre.norm().clamp_min(1e-12))


def _landmark_error(detector, images: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    device = next(detector.parameters()).device
    return (detector(images.to(device)).cpu() - truth).norm(dim=-1).mean(-1)
