"""GAN inversion in plain PyTorch: find the latent of a given image (W or W+), then Pivotal
Tuning. Usable without the graph: `result = invert(G, image, steps=300, pti_steps=100)`.
"""

from .history import InversionState, InversionStep
from .invert import InversionResult, invert
from .latent import mean_w, project_latent
from .losses import LOSSES, lpips_available, reconstruction_loss
from .pti import pivotal_tuning

__all__ = [
    "LOSSES",
    "InversionResult",
    "InversionState",
    "InversionStep",
    "invert",
    "lpips_available",
    "mean_w",
    "pivotal_tuning",
    "project_latent",
    "reconstruction_loss",
]
