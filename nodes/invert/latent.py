"""The latent stage of inversion: Adam on w (one row broadcast to all layers) or on W+
(every row free), from the mean w, minimising a reconstruction loss against the target image.

Follows NVIDIA's StyleGAN2-ADA projector (Karras et al. 2020): start at the mean of mapped
samples, learning rate ramped up over the first 5 % of steps and down (cosine) over the last
25 %. Unlike it we optimise in units of the spread of w (ws = w_mean + w_std * u), so one
learning rate suits generators whose w scales differ, and we keep noise at `noise_mode`
instead of optimising noise maps (the toyfaces model and DragGAN's edits use 'const').
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from nodes.gan import Generator
from nodes.metrics import psnr

from .history import InversionState, InversionStep, StageOutcome
from .losses import ReconstructionLoss

START_SAMPLES = 1024  # mapped z samples whose mean starts the search (the official projector uses 10000)


@torch.no_grad()
def mean_w(G: Generator, samples: int = START_SAMPLES, seed: int = 0) -> tuple[torch.Tensor, float]:
    """(mean w [1, w_dim], spread: RMS distance of the samples from it) of G's mapping."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, G.z_dim, generator=gen).to(G.device)
    c = None
    if G.c_dim:  # a conditional generator: start from the average over a uniform class label
        c = torch.full((samples, G.c_dim), 1.0 / G.c_dim, device=G.device)
    w = G.mapping(z, c)[:, 0].float()
    mean = w.mean(dim=0, keepdim=True)
    spread = float((w - mean).square().sum(dim=1).mean().sqrt() / math.sqrt(G.w_dim))
    return mean, max(spread, 1e-8)


def learning_rate(step: int, steps: int, lr: float, rampup: float = 0.05, rampdown: float = 0.25) -> float:
    """The projector's schedule: linear warm-up, then cosine decay over the last `rampdown`
    (t runs over (0, 1) exclusive, so neither the first nor the last step has rate 0)."""
    t = (step + 1) / (steps + 1)
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return lr * ramp * min(1.0, t / rampup) if rampup > 0 else lr * ramp


class LatentVariable:
    """The optimised tensor u and the W+ code it stands for: ws = w_mean + w_std * u."""

    def __init__(self, G: Generator, space: str):
        self.num_ws = G.num_ws
        self.w_mean, self.w_std = mean_w(G)
        rows = 1 if space == "w" else G.num_ws
        self.u = torch.zeros(1, rows, G.w_dim, device=G.device, requires_grad=True)

    def ws(self) -> torch.Tensor:
        return (self.w_mean[:, None] + self.w_std * self.u).expand(-1, self.num_ws, -1)


def project_latent(
    G: Generator,
    target: torch.Tensor,
    steps: int,
    space: str,
    lr: float,
    loss_fn: ReconstructionLoss,
    noise_mode: str = "const",
    on_step: Callable[[InversionState], None] | None = None,
    cancel=None,
    total: int | None = None,
) -> tuple[torch.Tensor, StageOutcome]:
    """(ws [1, num_ws, w_dim] found, how the stage ended). Only the latent gets gradients: the
    generator's weights (and their .grad) are never touched."""
    latent = LatentVariable(G, space)
    optimizer = torch.optim.Adam([latent.u], lr=lr, betas=(0.9, 0.999))
    history: list[InversionStep] = []
    stopped, last_finite = "budget", latent.ws().detach()
    for step in range(steps):
        if cancel is not None and cancel.is_set():
            stopped = "cancelled"
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, lr)
        ws = latent.ws()
        image = G.synthesis(ws, noise_mode=noise_mode).float()
        loss = loss_fn(image, target)
        if not bool(torch.isfinite(loss)):
            stopped = "non-finite"
            break
        last_finite = ws.detach()
        (latent.u.grad,) = torch.autograd.grad(loss, [latent.u])
        optimizer.step()
        record = InversionStep("latent", step, float(loss.detach()), float(psnr(image, target)))
        history.append(record)
        if on_step is not None:
            state_ws = latent.ws().detach()
            on_step(InversionState("latent", step, total or steps, record.loss, record.psnr, image.detach(), state_ws))
    final = last_finite if stopped == "non-finite" else latent.ws().detach()
    return final.contiguous(), StageOutcome(history, stopped)
