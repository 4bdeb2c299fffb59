"""What inversion reports as it goes: one record per optimisation step, and the live state
handed to `on_step` (with the image that step scored, free to use as a preview)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class InversionStep:
    """One step: its stage ('latent' = W/W+ search, 'pti' = pivotal tuning), index within the
    whole run, the loss and the PSNR (dB) of the image it scored."""

    stage: str
    step: int
    loss: float
    psnr: float


@dataclass
class InversionState:
    """What on_step sees after each step. `image` is the image this step's loss scored (before
    the update), `ws` the code after it; `total` counts the steps of both stages."""

    stage: str
    step: int
    total: int
    loss: float
    psnr: float
    image: torch.Tensor
    ws: torch.Tensor


@dataclass
class StageOutcome:
    """How a stage ended: 'budget', 'cancelled' or 'non-finite' (the last finite state is kept)."""

    history: list[InversionStep]
    stopped: str
