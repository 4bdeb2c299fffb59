"""Motion supervision (DragGAN eq. 1, SPEC §2): pull the patch around each handle one pixel
towards its target, and keep the features outside the mask where they started.

Normalisation follows the official code (F.l1_loss means): per handle the mean over patch pixels
and channels, summed over handles; the mask term is lambda times the mean over C x H x W.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .features import disk_offsets, sample_as_resized

# Elements of one chunk of the image-resolution mask term (float32: 32 MB).
_MASK_CHUNK_ELEMENTS = 8 * 2**20


def unit_directions(
    handles: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """d_i = (t_i - p_i) / ||t_i - p_i|| ([N, 2]) and the distances ||t_i - p_i|| ([N])."""
    delta = targets - handles
    distance = delta.norm(dim=-1)
    return delta / distance.clamp_min(1e-12).unsqueeze(-1), distance


def motion_losses(
    feat: torch.Tensor,
    handles: torch.Tensor,
    targets: torch.Tensor,
    r1: float,
    stop_px: float,
    image_size: int,
) -> torch.Tensor:
    """mean_{q in Omega1(p_i, r1)} | sg(F(q)) - F(q + d_i) | of each handle ([N]; zero, in the
    graph, for one within stop_px); the motion loss is their sum.

    The stop-gradient sits on F(q): the gradient flows only through the shifted sample, so the
    patch content is pulled forward along d_i (the paper's formulation). Every handle's patch is
    sampled and those not pulled masked out, so the shapes never depend on the data (no device
    sync; a stack of drags in one pass, nodes.drag.stacked)."""
    directions, distance = unit_directions(handles, targets)
    offsets = disk_offsets(r1, device=feat.device)
    patch = handles.unsqueeze(1) + offsets.unsqueeze(0)  # [N, K, 2]
    shifted = patch + directions.unsqueeze(1)
    with torch.no_grad():
        anchored = sample_as_resized(feat, patch, image_size)  # [N, K, C]
    moved = sample_as_resized(feat, shifted, image_size)
    per_handle = (anchored - moved).abs().mean(dim=(1, 2))
    return torch.where(distance > stop_px, per_handle, torch.zeros_like(per_handle))


def mask_loss(
    feat: torch.Tensor, feat0: torch.Tensor, keep: torch.Tensor, lambda_mask: float
) -> torch.Tensor:
    """lambda * mean over C x H x W of |(F - F0) * keep| on the image-size map (keep = 1 - M).

    Computed exactly at image resolution, as the official code does: |.| does not commute with
    the resize, and a mask downsampled to the block's resolution is off by 0.4% (random 256 px
    model) to 4% (tiny test model). `MaskedResizedL1` keeps it cheap: channel chunks, and only the
    signs (int8) saved for backward instead of float copies of the resized map."""
    size = keep.shape[-1]
    if lambda_mask == 0 or not bool((keep > 0).any()):
        return feat.sum() * 0
    total = MaskedResizedL1.apply(feat - feat0, keep)
    return lambda_mask * total / (feat.shape[1] * size * size)


class MaskedResizedL1(torch.autograd.Function):
    """sum |resize(diff) * keep| with resize = F.interpolate(bilinear) to keep's size.

    Forward resizes a chunk of channels at a time; backward applies the resize's adjoint to
    sign(resize(diff)) * keep * grad, chunk by chunk (sign(0) = 0, as autograd's abs)."""

    @staticmethod
    def forward(ctx, diff: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        size = list(keep.shape)
        chunk = max(1, _MASK_CHUNK_ELEMENTS // keep.numel())
        total = diff.new_zeros(())
        signs = []
        for start in range(0, diff.shape[1], chunk):
            resized = F.interpolate(
                diff[:, start : start + chunk], size=size, mode="bilinear", align_corners=False
            )
            signs.append(resized.sign().to(torch.int8))
            total += resized.abs_().mul_(keep).sum()
        ctx.save_for_backward(keep, *signs)
        ctx.input_shape = list(diff.shape)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        keep, *signs = ctx.saved_tensors
        grads = []
        for sign in signs:
            grad_resized = sign.to(keep.dtype).mul_(keep).mul_(grad)
            in_shape = [*ctx.input_shape[:1], sign.shape[1], *ctx.input_shape[2:]]
            grads.append(
                torch.ops.aten.upsample_bilinear2d_backward(
                    grad_resized, list(keep.shape), in_shape, False, None, None
                )
            )
        return torch.cat(grads, dim=1), None
