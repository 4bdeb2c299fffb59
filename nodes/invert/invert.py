"""invert(): embed an image in a generator (W or W+ search), then optionally Pivotal Tuning.

The two stages are latent.py and pti.py; this file checks the inputs, chains the stages and
reports the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from nodes.gan import Generator
from nodes.gan.model import LATENT_SPACES
from nodes.metrics import psnr

from .history import InversionState, InversionStep
from .latent import project_latent
from .losses import LOSSES, reconstruction_loss
from .pti import pivotal_tuning


@dataclass
class InversionResult:
    """The found pivot `ws` [1, num_ws, w_dim] (detached), the tuned generator (None without
    PTI, or when cancelled before PTI began), the per-step history, and how it ended: `stopped`
    is 'budget', 'cancelled' or 'non-finite' (then the last state with a finite loss is kept).
    `pivot_psnr`: PSNR (dB) of G(ws); `psnr`: of the final generator's image of ws."""

    ws: torch.Tensor
    G_tuned: Generator | None
    history: list[InversionStep]
    stopped: str
    pivot_psnr: float
    psnr: float
    _G: Generator
    noise_mode: str = "const"

    @property
    def cancelled(self) -> bool:
        return self.stopped == "cancelled"

    @property
    def generator(self) -> Generator:
        """The generator that reproduces the target from ws: the tuned copy, else the input."""
        return self.G_tuned if self.G_tuned is not None else self._G

    @torch.no_grad()
    def image(self) -> torch.Tensor:
        """The reconstruction [1, C, H, W] in [-1, 1]."""
        return self.generator.synthesis(self.ws, noise_mode=self.noise_mode).float().clamp(-1, 1)


def invert(
    G: Generator,
    image: torch.Tensor,
    steps: int = 300,
    space: str = "w+",
    lr: float = 0.1,
    loss: str = "l2+edges",
    pti_steps: int = 0,
    pti_lr: float = 1e-3,
    noise_mode: str = "const",
    on_step: Callable[[InversionState], None] | None = None,
    cancel=None,
) -> InversionResult:
    """Finds ws with G.synthesis(ws) ~ image, then (pti_steps > 0) tunes a copy of G around it.

    `image`: [1, 3, H, W] in [-1, 1] at G's resolution; `space`: 'w' or 'w+'; `lr`: Adam's peak
    rate in units of the spread of w; `loss`: one of LOSSES. `on_step(state)` runs after every
    step of both stages; `cancel` (threading.Event-like) is checked before every step and ends
    the run with the last completed state."""
    target = check_inputs(G, image, steps, space, lr, loss, pti_steps, pti_lr)
    loss_fn = reconstruction_loss(loss, G.device)
    total = steps + pti_steps
    ws, latent_stage = project_latent(G, target, steps, space, lr, loss_fn, noise_mode, on_step, cancel, total)
    history, stopped = list(latent_stage.history), latent_stage.stopped
    pivot_psnr = _psnr_of(G, ws, target, noise_mode)
    G_tuned, final_psnr = None, pivot_psnr
    if pti_steps > 0 and stopped != "cancelled":
        G_tuned, pti_stage = pivotal_tuning(
            G, ws, target, pti_steps, pti_lr, loss_fn, noise_mode, on_step, cancel, first_step=steps, total=total
        )
        history += pti_stage.history
        stopped = pti_stage.stopped if pti_stage.stopped != "budget" else stopped
        final_psnr = _psnr_of(G_tuned, ws, target, noise_mode)
    return InversionResult(ws, G_tuned, history, stopped, pivot_psnr, final_psnr, G, noise_mode)


@torch.no_grad()
def _psnr_of(G: Generator, ws: torch.Tensor, target: torch.Tensor, noise_mode: str) -> float:
    return float(psnr(G.synthesis(ws, noise_mode=noise_mode).float(), target))


def check_inputs(G: Generator, image, steps, space, lr, loss, pti_steps, pti_lr) -> torch.Tensor:
    """The target on G's device as float32; ValueError naming the argument and the fix."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[:2] != (1, 3):
        shape = list(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"image must be a tensor [1, 3, H, W] in [-1, 1], got {shape}")
    size = G.img_resolution
    if tuple(image.shape[2:]) != (size, size):
        raise ValueError(
            f"image is {image.shape[3]}x{image.shape[2]} but the generator makes {size}x{size}: "
            f"resize it first (ImageLoad does, when linked to the generator)"
        )
    if space not in LATENT_SPACES:
        raise ValueError(f"space must be one of {LATENT_SPACES}, got {space!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    for name, value in (("steps", steps), ("pti_steps", pti_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    for name, value in (("lr", lr), ("pti_lr", pti_lr)):
        if not (isinstance(value, int | float) and 0 < value < float("inf")):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    return image.detach().to(G.device, torch.float32)
