"""Pivotal Tuning (Roich et al. 2022): with the found latent frozen as the pivot, fine-tune a
copy of the synthesis network so that it renders the target from that pivot, recovering the
details the latent alone cannot reach. The input generator is never modified.

As the paper: Adam and the same reconstruction loss as the latent stage. Unlike it (350 steps
at a constant 3e-4) we ramp the rate up over the first 10 % of steps and down over the last
25 %, which lets a short CPU budget use a higher peak rate (1e-3 by default) without the first
Adam steps wrecking the image; and we leave out its optional locality regulariser (our edits
stay near the pivot, and it doubles the cost).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from nodes.gan import Generator
from nodes.metrics import psnr

from .history import InversionState, InversionStep, StageOutcome
from .latent import learning_rate
from .losses import ReconstructionLoss

RAMPUP, RAMPDOWN = 0.10, 0.25  # fractions of the steps


def pivotal_tuning(
    G: Generator,
    pivot: torch.Tensor,
    target: torch.Tensor,
    steps: int,
    lr: float,
    loss_fn: ReconstructionLoss,
    noise_mode: str = "const",
    on_step: Callable[[InversionState], None] | None = None,
    cancel=None,
    first_step: int = 0,
    total: int | None = None,
) -> tuple[Generator, StageOutcome]:
    """(a tuned deep copy of G, how the stage ended). Mapping weights stay as they were; every
    synthesis parameter is tuned. Steps are numbered from `first_step` in the records."""
    tuned = copy.deepcopy(G).eval().requires_grad_(False)
    weights = list(tuned.synthesis.parameters())
    for p in weights:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(weights, lr=lr)
    pivot = pivot.detach()
    history: list[InversionStep] = []
    stopped, last_finite = "budget", None
    for step in range(first_step, first_step + steps):
        if cancel is not None and cancel.is_set():
            stopped = "cancelled"
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step - first_step, steps, lr, RAMPUP, RAMPDOWN)
        image = tuned.synthesis(pivot, noise_mode=noise_mode).float()
        loss = loss_fn(image, target)
        if not bool(torch.isfinite(loss)):
            stopped = "non-finite"
            break
        last_finite = [p.detach().clone() for p in weights]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        record = InversionStep("pti", step, float(loss.detach()), float(psnr(image, target)))
        history.append(record)
        if on_step is not None:
            on_step(InversionState("pti", step, total or first_step + steps, record.loss, record.psnr, image.detach(), pivot))
    with torch.no_grad():
        if stopped == "non-finite" and last_finite is not None:
            for p, good in zip(weights, last_finite):
                p.copy_(good)
    for p in weights:
        p.grad = None
    return tuned.requires_grad_(False), StageOutcome(history, stopped)
