"""The feature map F (output of one synthesis block) and sampling it at image-pixel coordinates.

The official code resizes the whole map to image size (bilinear, align_corners=False) and samples
that copy with grid_sample(align_corners=True); `sample_as_resized` gives the same numbers from the
block's own map, touching only the points asked for (SPEC §2).
"""

from __future__ import annotations

import functools
import math

import torch

from nodes.gan import Generator
from nodes.gan.crop import (
    CroppedMap,
    CropPlan,
    read_bilinear,
    supports_crops,
    synthesize_cropped,
    synthesize_whole,
)
from nodes.gan.model import ModulationMemo


def synthesize_features(
    G: Generator,
    ws: torch.Tensor,
    block: int,
    noise_mode: str = "const",
    trainable_rows: int | None = None,
    plan: CropPlan | None = None,
    memo: ModulationMemo | None = None,
    lower: dict | None = None,
) -> torch.Tensor | CroppedMap:
    """F = output of synthesis block `block` ([1, C, S, S]), computing nothing above it.

    With `trainable_rows`, the W+ rows from that index on enter detached: they are fixed during a
    drag, so the modulated convs that only use them need no style gradient, and a StyleGAN2's
    `memo` keeps their modulated weights from step to step. With a crop `plan` F is a
    CroppedMap, known on the plan's windows only. The values are those of
    `G.synthesis(ws, stop_at_block=block)` in every case (up to float rounding). `lower`, when
    given, receives the maps of the blocks below as computed on the way ({block: map}; cropped
    with the plan, holding the region of F's windows).

    F and the lower maps come in the code's dtype: blocks that ran in float16/bfloat16 on CUDA
    (Generator.set_precision) hand over float32 maps, so the drag's loss and tracking run in
    float32 (in half precision a 512 px image's coordinates would round to a quarter pixel)."""
    maps = {} if lower is not None else None
    if trainable_rows is None and plan is None:
        blocks = G.synthesis(ws, noise_mode=noise_mode, stop_at_block=block)
        if maps is not None:
            maps.update(enumerate(blocks))
        feat = blocks[block]
    else:
        feat = _synthesize_rows(G, block_rows(G, ws, block, trainable_rows), noise_mode, plan, memo, maps)
    if maps is not None:
        lower.update({index: in_dtype(value, ws.dtype) for index, value in maps.items()})
    return in_dtype(feat, ws.dtype)


def _synthesize_rows(G, rows, noise_mode, plan, memo, lower):
    """synthesize_features from the blocks' rows: cropped, whole with the memo, or block by block
    (a generator without crops)."""
    if plan is not None:
        return synthesize_cropped(G, rows, plan, noise_mode, memo, lower)
    if supports_crops(G):
        return synthesize_whole(G, rows, noise_mode, memo, lower)
    x = None
    for index, (block_module, block_ws) in enumerate(zip(G.synthesis.blocks(), rows)):
        x = block_module(x, block_ws, noise_mode)
        if lower is not None:
            lower[index] = x
    return x


def in_dtype(feat: torch.Tensor | CroppedMap, dtype: torch.dtype) -> torch.Tensor | CroppedMap:
    """`feat` as `dtype` (itself when it is already), a cast the gradient flows through."""
    return feat if feat.dtype == dtype else feat.to(dtype)


def block_rows(
    G: Generator, ws: torch.Tensor, block: int, trainable_rows: int | None = None
) -> list[torch.Tensor]:
    """The W+ rows of blocks 0..block ([N, num_conv, w_dim] each); a block whose rows all come at
    or after `trainable_rows` gets them detached."""
    rows, row = [], 0
    for block_module in G.synthesis.blocks()[: block + 1]:
        block_ws = ws[:, row : row + block_module.num_conv]
        if trainable_rows is not None and row >= trainable_rows:
            block_ws = block_ws.detach()
        rows.append(block_ws)
        row += block_module.num_conv
    return rows


def resize_source_coordinate(
    pixel: torch.Tensor, image_size: int, feature_size: int
) -> torch.Tensor:
    """Where image pixel `pixel` of the resized map reads the block's map: F.interpolate's
    align_corners=False rule, src = (dst + 0.5) * S / H - 0.5, clamped to [0, S - 1]."""
    scale = feature_size / image_size
    return ((pixel + 0.5) * scale - 0.5).clamp(0, feature_size - 1)


class StackedMap:
    """The feature maps of several drags ([B, C, S, S]) read as one: sample_as_resized takes
    points whose leading dimension runs over the B drags' handles in order (B x N rows: drag 0's
    N handles, then drag 1's ...), and reads each drag's rows from its own map, in one call for
    all (nodes.drag.stacked). Offers what the sampling uses of a tensor, as CroppedMap does."""

    def __init__(self, maps: torch.Tensor):
        self.maps = maps
        self.shape, self.dtype, self.device = maps.shape, maps.dtype, maps.device

    def detach(self) -> StackedMap:
        return StackedMap(self.maps.detach())


def sample_as_resized(
    feat: torch.Tensor | CroppedMap | StackedMap, points: torch.Tensor, image_size: int, whole_pixels: bool = False
) -> torch.Tensor:
    """Features at image coordinates `points` ([..., 2] as (x, y)) -> [..., C].

    Equals grid_sample(F.interpolate(feat, image size, bilinear), points, align_corners=True,
    padding zeros): bilinear weights over the four neighbouring image pixels (zero outside the
    image), each pixel's value read from the block's map at its resize source coordinate. A
    CroppedMap is read from its windows, which must hold those pixels; a StackedMap's drags each
    from their own map. The four corners are handled as one tensor: a step samples a few times,
    and on a GPU every op is a launch.

    `whole_pixels`: the caller's points are whole pixels (a tracking window's), so each is that
    pixel's value alone (weight 1; the same numbers), one read instead of four."""
    batch = feat.shape[0] if isinstance(feat, StackedMap) else 1
    channels, feat_h, feat_w = feat.shape[1:]
    pts = points.reshape(batch, -1, 2).to(feat.dtype)  # [B, M, 2]: each map's points
    if whole_pixels:
        inside = ((pts >= 0) & (pts <= image_size - 1)).all(dim=-1)
        values = read_map(feat, *_source(pts, image_size, feat_w, feat_h))  # [B, C, M]
        return (values * inside.unsqueeze(1)).transpose(1, 2).reshape(*points.shape[:-1], channels)
    base = pts.floor()
    frac = pts - base
    corners = _corners(pts.dtype, pts.device).view(1, 4, 1, 2)  # (0, 0), (1, 0), (0, 1), (1, 1)
    pix = base.unsqueeze(1) + corners  # [B, corner, M, 2]
    # Per axis the weight of the pixel after the floor is frac, of the floor itself 1 - frac.
    axis_weights = torch.where(corners > 0, frac.unsqueeze(1), 1 - frac.unsqueeze(1))
    inside = ((pix >= 0) & (pix <= image_size - 1)).all(dim=-1)
    weights = axis_weights[..., 0] * axis_weights[..., 1] * inside  # [B, corner, M]
    values = read_map(feat, *_source(pix.reshape(batch, -1, 2), image_size, feat_w, feat_h))
    out = (values.view(batch, channels, 4, -1) * weights.unsqueeze(1)).sum(dim=2)  # [B, C, M]
    return out.transpose(1, 2).reshape(*points.shape[:-1], channels)


def _source(pixels: torch.Tensor, image_size: int, feat_w: int, feat_h: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The block-map coordinates (x [B, K], y [B, K]) that image pixels ([B, K, 2]) read."""
    if feat_h == feat_w:
        src = resize_source_coordinate(pixels, image_size, feat_w)
        return src[..., 0], src[..., 1]
    return (
        resize_source_coordinate(pixels[..., 0], image_size, feat_w),
        resize_source_coordinate(pixels[..., 1], image_size, feat_h),
    )


@functools.lru_cache(maxsize=32)
def _corners(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=dtype, device=device)


def read_map(feat: torch.Tensor | CroppedMap | StackedMap, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear values of the block's map(s) at its pixel coordinates ([B, K] each: map b's
    points in row b) -> [B, C, K]; of one map at [K] each -> [C, K]."""
    if x.ndim == 1:
        return read_map(feat, x.unsqueeze(0), y.unsqueeze(0))[0]
    if isinstance(feat, CroppedMap):
        return feat.read(x[0], y[0]).unsqueeze(0)
    maps = feat.maps if isinstance(feat, StackedMap) else feat[:1]
    return read_bilinear(maps, x, y)


@functools.lru_cache(maxsize=64)
def disk_offsets(radius: float, device: torch.device | None = None) -> torch.Tensor:
    """Omega1: integer offsets (x, y) with ||offset|| < radius (the paper's and the official rule).
    Made once per radius and device (shared: never change it in place)."""
    r = math.ceil(radius)
    span = torch.arange(-r, r + 1, dtype=torch.float32, device=device)
    oy, ox = torch.meshgrid(span, span, indexing="ij")
    offsets = torch.stack([ox.flatten(), oy.flatten()], dim=-1)
    return offsets[offsets.norm(dim=-1) < radius]


@functools.lru_cache(maxsize=64)
def window_offsets(half_size: int, device: torch.device | None = None) -> torch.Tensor:
    """Omega2: every integer offset (x, y) of the square [-r2, r2]^2, row by row. Made once per
    size and device (shared: never change it in place)."""
    span = torch.arange(-half_size, half_size + 1, dtype=torch.float32, device=device)
    oy, ox = torch.meshgrid(span, span, indexing="ij")
    return torch.stack([ox.flatten(), oy.flatten()], dim=-1)
