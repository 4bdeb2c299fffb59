"""Reconstruction losses for inversion and pivotal tuning (judged by PSNR, nodes/metrics.py).

There is no image encoder for our generators, so the generator's own features cannot score a
target photo. The offline default is therefore "l2+edges": pixel L2 plus L2 at half and
quarter resolution (coarse shape first) plus L1 between image gradients (sharp edges, where
pixel L2 alone gives blur). "lpips" (Zhang et al. 2018, what PTI uses) is offered only when
the `lpips` package and its backbone weights are already on this machine; nothing downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

LOSSES = ("l2+edges", "l2", "lpips")
ReconstructionLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def l2_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared pixel error, images in [-1, 1]."""
    return (fake - real).square().mean()


def l2_edges_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Pixel L2 at full, half and quarter resolution plus L1 between x and y image gradients."""
    loss = l2_loss(fake, real)
    f, r = fake, real
    for _ in range(2):
        f, r = F.avg_pool2d(f, 2), F.avg_pool2d(r, 2)
        loss = loss + l2_loss(f, r)
    for dim in (2, 3):
        loss = loss + 0.1 * (fake.diff(dim=dim) - real.diff(dim=dim)).abs().mean()
    return loss


def lpips_available() -> bool:
    """True when `lpips` imports and its AlexNet backbone is already in the torch hub cache."""
    try:
        import lpips  # noqa: F401
    except ImportError:
        return False
    return _alexnet_weights().is_file()


def _alexnet_weights() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / "alexnet-owt-7be5be79.pth"


def make_lpips_loss(device: torch.device) -> ReconstructionLoss:
    """Pixel L2 plus LPIPS (AlexNet), as PTI; only from files already here."""
    if not lpips_available():
        raise ValueError(
            "loss 'lpips' needs the `lpips` package and the AlexNet weights "
            f"{_alexnet_weights()} on this machine (nodegraph never downloads them); "
            "install them yourself or use loss 'l2+edges'"
        )
    import lpips

    metric = lpips.LPIPS(net="alex", verbose=False).to(device).eval().requires_grad_(False)

    def loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return l2_loss(fake, real) + metric(fake, real).mean()

    return loss


def reconstruction_loss(name: str, device: torch.device | str = "cpu") -> ReconstructionLoss:
    """The loss function called `name` (one of LOSSES)."""
    if name == "l2+edges":
        return l2_edges_loss
    if name == "l2":
        return l2_loss
    if name == "lpips":
        return make_lpips_loss(torch.device(device))
    raise ValueError(f"unknown loss {name!r}; use one of {', '.join(LOSSES)}")

