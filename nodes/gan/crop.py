"""Cropped synthesis: StyleGAN2 blocks computed only on windows of their maps (SPEC §2).

A block's value at a pixel depends on a bounded neighbourhood of the block below: the 3x3 conv
reads one pixel around it; the upsampling conv (transposed 3x3 conv with stride 2, then the
[1, 3, 3, 1] FIR filter) gives output pixel s from input pixels floor(s / 2) - 1 .. floor(s / 2)
+ 1; noise and bias are per pixel; (de)modulation is per sample. So windows wanted at the feature
block map down to windows with exactly the halo each layer needs; the convs run 'valid' on them,
zero-filled outside the map as the full synthesis' zero padding is, and inside its window the
result equals the full synthesis up to float rounding, forward and backward.

Blocks below `start_block` run whole (they are small); crops of one shape run as one batch.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import combinations

import torch
import torch.nn.functional as F

from .model import ModulationMemo
from .transfer import tensor_on

# Cost of running one block on a crop group beyond its multiply-adds (Python and small tensor
# ops: window reads, noise crops, masks), in multiply-adds: a rough figure. With it the model
# picked block 2 for one handle on the toy 128 px, random 256 and 512 px generators, within 5%
# of the fastest start measured (CPU, one thread; measured before the convs went back to fused).
CALL_OVERHEAD_MACS = 4e6
# A window joins a batch of larger ones when padding it to their size costs at most this factor.
BATCH_PADDING_FACTOR = 1.5


@dataclass(frozen=True)
class Window:
    """Pixels [top, top + height) x [left, left + width) of a square map; may reach past its edges."""

    top: int
    left: int
    height: int
    width: int

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def area(self) -> int:
        return self.height * self.width

    def grow(self, margin: int) -> Window:
        return Window(
            self.top - margin, self.left - margin, self.height + 2 * margin, self.width + 2 * margin
        )

    def union(self, other: Window) -> Window:
        """The bounding box of both."""
        top, left = min(self.top, other.top), min(self.left, other.left)
        return Window(
            top, left, max(self.bottom, other.bottom) - top, max(self.right, other.right) - left
        )

    def resized(self, height: int, width: int) -> Window:
        """Same corner, grown to height x width towards the bottom right."""
        return Window(self.top, self.left, height, width)

    def inside(self, size: int) -> bool:
        return self.top >= 0 and self.left >= 0 and self.bottom <= size and self.right <= size


def upsampling_conv_input(out: Window) -> Window:
    """The input window the upsampling conv reads for the output window `out` (its halo): output
    pixel s reads input pixels floor(s / 2) - 1 .. floor(s / 2) + 1."""
    top, left = out.top // 2 - 1, out.left // 2 - 1
    return Window(top, left, (out.bottom - 1) // 2 + 2 - top, (out.right - 1) // 2 + 2 - left)


def upsampling_conv_output(window: Window) -> Window:
    """The pixels a padding-0 upsampling conv returns for the input window: [2 t + 1, 2 b - 1);
    exact on [2 t + 2, 2 b - 2) (the outermost ones lack an input pixel)."""
    return Window(
        2 * window.top + 1, 2 * window.left + 1, 2 * window.height - 2, 2 * window.width - 2
    )


@dataclass(frozen=True)
class BlockWindows:
    """One block's windows for a batch of crops: conv0 reads `inputs` (the block below's pixels),
    its output is trimmed to `middles`, from which conv1 computes `outputs` (middles less one
    pixel all round). Every list holds windows of one size."""

    inputs: list[Window]
    middles: list[Window]
    outputs: list[Window]


@dataclass(frozen=True)
class CropGroup:
    """Crops of one shape at every level, computed as one batch; `blocks[b]` for blocks 1..k."""

    blocks: dict[int, BlockWindows]


@dataclass(frozen=True)
class CropPlan:
    """Which blocks run on windows (start_block..feature_block) and the windows of every crop."""

    feature_block: int
    start_block: int
    groups: list[CropGroup]


def supports_crops(G) -> bool:
    """Whether G's synthesis declares local layers that can run on windows (StyleGAN2 does)."""
    return bool(getattr(getattr(G, "synthesis", None), "supports_crops", False))


def plan_crops(
    G, feature_block: int, windows: list[Window], start_block: int | None = None
) -> CropPlan | None:
    """How to compute `windows` of block `feature_block` exactly; None when G cannot crop or
    cropping would not pay. Overlapping windows merge when their bounding box is smaller than
    the two; `start_block` None picks the cheapest level by the cost model."""
    if not supports_crops(G) or feature_block < 1 or not windows:
        return None
    blocks = G.synthesis.blocks()
    groups = [
        _group_windows(members, feature_block) for members in _batches(_merge_overlapping(windows))
    ]
    if start_block is None:
        start_block = _cheapest_start(blocks, feature_block, groups)
        if start_block > feature_block:
            return None
    elif not 1 <= start_block <= feature_block:
        raise ValueError(f"start_block must be in 1..{feature_block}, got {start_block}")
    return CropPlan(feature_block, start_block, groups)


OUTSIDE_WINDOWS = "CroppedMap.read: a point lies outside every window; the crop plan misses part of the region"

# Within deferred_window_checks: the list CroppedMap.read adds its checks to, instead of making each.
_DEFERRED_CHECKS: ContextVar[list | None] = ContextVar("cropped_map_checks", default=None)


@contextlib.contextmanager
def deferred_window_checks() -> Iterator[list[torch.Tensor]]:
    """Within it, CroppedMap.read does not check at once that its windows held every point (a
    device sync per read on a GPU): it adds the check's flag (a 0-d bool tensor, True if a point
    was missed) to the list yielded, which the caller must check before it uses what it read,
    with its own transfer (a drag step checks them with its figures: nodes.drag.loop)."""
    checks: list[torch.Tensor] = []
    token = _DEFERRED_CHECKS.set(checks)
    try:
        yield checks
    finally:
        _DEFERRED_CHECKS.reset(token)


class CroppedMap:
    """A [1, C, S, S] feature map known on windows only: `pieces` pairs each window (inside the
    map) with its values [1, C, h, w]. Offers what the drag's sampling uses of a tensor (shape,
    dtype, device, detach) and `read`, the bilinear read of grid_sample."""

    def __init__(
        self, pieces: list[tuple[Window, torch.Tensor]], size: int, batches: list[tuple[torch.Tensor, int]] | None = None
    ):
        """`batches`, when given: (crops [n, C, h, w], index of its first piece) for runs of
        pieces that are whole crops of one batch (pieces[index + i] = crops[i], all inside the
        map): read as that batch, with no per-piece copy or its backward."""
        self.pieces, self.size, self.batches = pieces, size, batches or []
        channels = pieces[0][1].shape[1]
        self.shape = torch.Size([1, channels, size, size])
        self.dtype, self.device = pieces[0][1].dtype, pieces[0][1].device
        # The pieces stacked by size, made at the first read with and without gradients (a
        # stack made under no_grad carries none).
        self._stacks: dict[bool, list[_PieceStack]] = {}

    def detach(self) -> CroppedMap:
        return self._map(lambda values: values.detach())

    def to(self, dtype: torch.dtype) -> CroppedMap:
        return self._map(lambda values: values.to(dtype))

    def _map(self, change) -> CroppedMap:
        """This map with `change` applied to its values (kept as batches where they were)."""
        batches = [(change(crops), first) for crops, first in self.batches]
        # A batch's pieces become its changed crops (each changed once, as the batch).
        of_batch = {first + i: crops[i : i + 1] for crops, first in batches for i in range(len(crops))}
        pieces = [(w, of_batch[i] if i in of_batch else change(v)) for i, (w, v) in enumerate(self.pieces)]
        return CroppedMap(pieces, self.size, batches)

    def read(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Bilinear values at map coordinates (x, y) in [0, S - 1] ([K] each) -> [C, K]; each
        point is read from the first window that holds the pixels it weighs (ValueError if none).

        The windows of one size are read as one batch (a handle's windows usually share theirs):
        every window reads every point and each point keeps the first holding it. A few ops per
        size, not per window, and no data-dependent shapes, so no device sync but the final
        check (deferred to the caller within deferred_window_checks)."""
        if x.numel() == 0:
            return torch.zeros([self.shape[1], 0], dtype=self.dtype, device=self.device)
        grad = torch.is_grad_enabled()
        if grad not in self._stacks:
            self._stacks[grad] = _PieceStack.of(self.pieces, self.batches)
        out, first = None, None
        for stack in self._stacks[grad]:
            read, index = stack.read(x, y, len(self.pieces))
            if out is None:
                out, first = read, index
            else:
                out = torch.where(index < first, read, out)
                first = torch.minimum(index, first)
        pending = first == len(self.pieces)  # no window holds the point
        checks = _DEFERRED_CHECKS.get()
        if checks is not None:
            checks.append(pending.any())
        elif bool(pending.any()):
            raise ValueError(OUTSIDE_WINDOWS)
        return out

    def to_dense(self) -> torch.Tensor:
        """The map with zeros outside the windows (for checks; the drag never builds it)."""
        dense = torch.zeros(self.shape, dtype=self.dtype, device=self.device)
        for window, values in self.pieces:
            dense[:, :, window.top : window.bottom, window.left : window.right] = values
        return dense


@dataclass
class _PieceStack:
    """A CroppedMap's pieces of one size, stacked ([n, C, h, w]), with their windows and their
    indices among all the map's pieces."""

    values: torch.Tensor
    windows: tuple[Window, ...]
    members: tuple[int, ...]

    @staticmethod
    def of(pieces: list[tuple[Window, torch.Tensor]], batches: list[tuple[torch.Tensor, int]]) -> list[_PieceStack]:
        """The pieces as stacks: each of `batches` as it is, the others stacked by size."""
        stacks, batched = [], set()
        for crops, first in batches:
            members = tuple(range(first, first + len(crops)))
            stacks.append(_PieceStack(crops, tuple(pieces[i][0] for i in members), members))
            batched.update(members)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, (window, _) in enumerate(pieces):
            if i not in batched:
                by_size.setdefault((window.height, window.width), []).append(i)
        for members in by_size.values():
            values = torch.cat([pieces[i][1] for i in members]) if len(members) > 1 else pieces[members[0]][1]
            stacks.append(_PieceStack(values, tuple(pieces[i][0] for i in members), tuple(members)))
        return stacks

    def read(self, x: torch.Tensor, y: torch.Tensor, none: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Each point's value ([C, K]) from the first of these pieces that holds it (the pixel
        after floor(x) has weight 0 when x is whole, so x <= right - 1 suffices), and that
        piece's index among the map's ([K]; `none` where none of these holds it)."""
        if len(self.members) == 1:  # one piece: no choice to make, and its bounds as numbers
            w = self.windows[0]
            held = (x >= w.left) & (x <= w.right - 1) & (y >= w.top) & (y <= w.bottom - 1)
            index = torch.where(held, self.members[0], none)
            return read_bilinear(self.values, x - w.left, y - w.top), index
        left, top, last_x, last_y, members = _stack_layout(self.windows, self.members, x.dtype, x.device)
        held = (x >= left) & (x <= last_x) & (y >= top) & (y <= last_y)  # [n, K]
        index, which = torch.where(held, members, none).min(dim=0)  # [K] each
        values = read_bilinear(self.values, x - left, y - top)  # [n, C, K]
        chosen = values.gather(0, which.view(1, 1, -1).expand(1, values.shape[1], -1))
        return chosen[0], index


@functools.lru_cache(maxsize=256)
def _stack_layout(windows: tuple[Window, ...], members: tuple[int, ...], dtype: torch.dtype, device: torch.device):
    """A stack's window bounds (left, top, right - 1, bottom - 1, each [n, 1]) and piece indices
    ([n, 1]) as tensors, made once per layout: a drag's windows stay put for many steps, and on a
    GPU each new tensor is a host-to-device copy."""
    bounds = tensor_on(device, [[w.left, w.top, w.right - 1, w.bottom - 1] for w in windows], dtype)
    return (*bounds.t().unsqueeze(-1), tensor_on(device, members).unsqueeze(-1))


def read_bilinear(values: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear values of a map [1, C, h, w] at its pixel coordinates ([K] each) -> [C, K]; or of
    B maps [B, C, h, w] at x, y [B, K] (map b's points in row b) -> [B, C, K] (grid_sample,
    align_corners=True, zeros outside)."""
    height, width = values.shape[-2:]
    grid = torch.stack([_normalise(x, width), _normalise(y, height)], dim=-1)
    if x.ndim == 1:
        read = F.grid_sample(values[:1], grid.view(1, 1, -1, 2), mode="bilinear", align_corners=True)
        return read.view(values.shape[1], -1)
    read = F.grid_sample(values, grid.unsqueeze(1), mode="bilinear", align_corners=True)  # [B, C, 1, K]
    return read.squeeze(2)


def _normalise(coord: torch.Tensor, size: int) -> torch.Tensor:
    """Pixel coordinate -> grid_sample's [-1, 1] with align_corners=True."""
    return coord / max(size - 1, 1) * 2 - 1


def synthesize_cropped(
    G,
    block_ws: list[torch.Tensor],
    plan: CropPlan,
    noise_mode: str = "const",
    memo: ModulationMemo | None = None,
    lower: dict[int, torch.Tensor | CroppedMap] | None = None,
) -> CroppedMap:
    """F of plan.feature_block on the plan's windows, exact there.

    `block_ws[b]` holds block b's W+ rows ([1, num_conv, w_dim]) and `memo` keeps modulated
    weights, as SynthesisBlock.forward takes them. `lower`, when given, receives the maps of the
    blocks below as they were computed on the way (whole below plan.start_block, else cropped to
    the windows the block above read: they hold the region of the feature block's windows)."""
    blocks = G.synthesis.blocks()
    x = synthesize_whole(G, block_ws[: plan.start_block], noise_mode, memo, lower)
    cropped = range(plan.start_block, plan.feature_block + 1)
    # One noise draw per layer and synthesis, shared by the crops ('random' mode).
    noises = {
        b: [
            _as_map(layer.noise_map(noise_mode, 1, x.device))
            for layer in (blocks[b].conv0, blocks[b].conv1)
        ]
        for b in cropped
    }
    pieces: dict[int, list] = {b: [] for b in cropped}
    batches: dict[int, list] = {b: [] for b in cropped}  # groups whose crops all lie inside the map
    for group in plan.groups:
        h = read_windows(x, group.blocks[plan.start_block].inputs)
        for b in cropped:
            h = _block_on_windows(
                blocks[b], h, block_ws[b], group.blocks[b], noises[b], b < plan.feature_block, memo
            )
            if b == plan.feature_block or lower is not None:
                outputs = group.blocks[b].outputs
                if all(window.inside(blocks[b].resolution) for window in outputs):
                    batches[b].append((h, len(pieces[b])))
                pieces[b] += _inside_parts(h, outputs, blocks[b].resolution)
    if lower is not None:
        lower.update({b: CroppedMap(pieces[b], blocks[b].resolution, batches[b]) for b in cropped[:-1]})
    return CroppedMap(pieces[plan.feature_block], blocks[plan.feature_block].resolution, batches[plan.feature_block])


def synthesize_whole(
    G,
    block_ws: list[torch.Tensor],
    noise_mode: str = "const",
    memo: ModulationMemo | None = None,
    lower: dict[int, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Blocks 0..len(block_ws) - 1 on the whole map (a block's rows: block_ws[b]); `lower`, when
    given, receives every block's map (the last one included)."""
    x = None
    for b, (block, ws) in enumerate(zip(G.synthesis.blocks(), block_ws)):
        x = block(x, ws, noise_mode, memo=memo)
        if lower is not None:
            lower[b] = x
    return x


def read_window(x: torch.Tensor, window: Window) -> torch.Tensor:
    """x[..., window] ([N, C, height, width]), zeros where the window leaves the map."""
    size_y, size_x = x.shape[-2:]
    top, bottom = min(max(window.top, 0), size_y), max(min(window.bottom, size_y), 0)
    left, right = min(max(window.left, 0), size_x), max(min(window.right, size_x), 0)
    part = x[..., top:bottom, left:right]
    pad = [left - window.left, window.right - right, top - window.top, window.bottom - bottom]
    return F.pad(part, pad) if any(pad) else part


def read_windows(x: torch.Tensor, windows: list[Window]) -> torch.Tensor:
    """The windows (all of one size) of a one-sample map as a batch: [len(windows), C, height,
    width], zeros where a window leaves the map. One indexing op for all of them (and at most one
    pad), not a slice, pad and copy per window: on a GPU each is a launch, forward and backward."""
    if len(windows) == 1:
        return read_window(x, windows[0])
    size_y, size_x = x.shape[-2:]
    margin = max(0, *(max(-w.top, -w.left, w.bottom - size_y, w.right - size_x) for w in windows))
    if margin:
        x = F.pad(x, [margin] * 4)
    rows, columns = _window_indices(tuple(windows), margin, x.device)
    return x[0][:, rows, columns].transpose(0, 1)  # [C, n, h, w] -> [n, C, h, w]


@functools.lru_cache(maxsize=256)
def _window_indices(windows: tuple[Window, ...], margin: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices ([n, h, 1], [n, 1, w]) of each window's pixels in a map padded by
    `margin` on every side; made once per layout (a drag's windows stay put for many steps)."""
    rows = tensor_on(device, [[w.top + margin + i for i in range(w.height)] for w in windows])
    columns = tensor_on(device, [[w.left + margin + j for j in range(w.width)] for w in windows])
    return rows.unsqueeze(2), columns.unsqueeze(1)


def _block_on_windows(
    block,
    x: torch.Tensor,
    ws: torch.Tensor,
    windows: BlockWindows,
    noises: list,
    zero_outside: bool,
    memo: ModulationMemo | None,
) -> torch.Tensor:
    """SynthesisBlock.forward on a batch of windows; outside the map the output is zeroed when a
    block above reads it (that is the zero padding its conv would see)."""
    size = block.resolution
    computed = [upsampling_conv_output(window) for window in windows.inputs]
    x = block.conv0(
        x.to(block.working_dtype(x.device)),
        ws[:, 0],
        padding=0,
        noise=_noise(noises[0], computed),
        memo=memo,
    )
    x = _zero_outside(_trim(x, computed, windows.middles), windows.middles, size)
    x = block.conv1(x, ws[:, 1], padding=0, noise=_noise(noises[1], windows.outputs), memo=memo)
    return _zero_outside(x, windows.outputs, size) if zero_outside else x


def _trim(x: torch.Tensor, computed: list[Window], wanted: list[Window]) -> torch.Tensor:
    """Each crop's `wanted` part of its `computed` window: one slice when the offsets agree, else
    one indexing op (crop i's part at its own offset)."""
    offsets = [(want.top - have.top, want.left - have.left) for have, want in zip(computed, wanted)]
    height, width = wanted[0].height, wanted[0].width
    if len(set(offsets)) == 1:
        top, left = offsets[0]
        return x[..., top : top + height, left : left + width]
    parts = tuple(Window(top, left, height, width) for top, left in offsets)
    rows, columns = _window_indices(parts, 0, x.device)
    crop = torch.arange(len(parts), device=x.device).view(-1, 1, 1)
    return x.permute(0, 2, 3, 1)[crop, rows, columns].permute(0, 3, 1, 2)  # [n, h, w, C] -> [n, C, h, w]


def _noise(noise: torch.Tensor | None, windows: list[Window]) -> torch.Tensor | None:
    return None if noise is None else read_windows(noise, windows)


def _as_map(noise: torch.Tensor | None) -> torch.Tensor | None:
    return None if noise is None else noise.reshape(1, 1, *noise.shape[-2:])


def _zero_outside(x: torch.Tensor, windows: list[Window], size: int) -> torch.Tensor:
    if all(window.inside(size) for window in windows):
        return x
    ones = torch.ones([1, 1, size, size], dtype=x.dtype, device=x.device)
    return x * read_windows(ones, windows)


def _inside_parts(
    crops: torch.Tensor, windows: list[Window], size: int
) -> list[tuple[Window, torch.Tensor]]:
    """Each crop's part inside the map, with its window."""
    parts = []
    for index, window in enumerate(windows):
        top, bottom = max(window.top, 0), min(window.bottom, size)
        left, right = max(window.left, 0), min(window.right, size)
        values = crops[
            index : index + 1,
            :,
            top - window.top : bottom - window.top,
            left - window.left : right - window.left,
        ]
        parts.append((Window(top, left, bottom - top, right - left), values))
    return parts


def _merge_overlapping(windows: list[Window]) -> list[Window]:
    """Merge two windows while their bounding box is smaller than the two apart (close handles)."""
    windows = list(windows)
    while True:
        for i, j in combinations(range(len(windows)), 2):
            box = windows[i].union(windows[j])
            if box.area < windows[i].area + windows[j].area:
                windows[i] = box
                del windows[j]
                break
        else:
            return windows


def _batches(windows: list[Window]) -> list[list[Window]]:
    """Windows of about one size together, each padded to the largest of its batch."""
    batches: list[list[Window]] = []
    for window in sorted(windows, key=lambda w: -w.area):
        for batch in batches:
            lead = batch[0]
            if (
                window.height <= lead.height
                and window.width <= lead.width
                and lead.area <= BATCH_PADDING_FACTOR * window.area
            ):
                batch.append(window)
                break
        else:
            batches.append([window])
    return [
        [window.resized(batch[0].height, batch[0].width) for window in batch] for batch in batches
    ]


def _group_windows(outputs: list[Window], feature_block: int) -> CropGroup:
    """The windows of every block 1..feature_block for crops of one shape, top-down: conv1 needs a
    one-pixel halo, conv0 the upsampling halo (its size depends on the corner's parity, so the
    inputs of a batch are grown to the largest)."""
    blocks = {}
    for b in range(feature_block, 0, -1):
        middles = [window.grow(1) for window in outputs]
        inputs = _same_size([upsampling_conv_input(window) for window in middles])
        blocks[b] = BlockWindows(inputs, middles, outputs)
        outputs = inputs
    return CropGroup(blocks)


def _same_size(windows: list[Window]) -> list[Window]:
    height, width = max(w.height for w in windows), max(w.width for w in windows)
    return [window.resized(height, width) for window in windows]


def _cheapest_start(blocks, feature_block: int, groups: list[CropGroup]) -> int:
    """The start block with the fewest estimated multiply-adds (feature_block + 1: no crop)."""
    full, crop = {}, {}
    for b in range(1, feature_block + 1):
        res = blocks[b].resolution
        full[b] = _block_macs(blocks[b], (res // 2, res // 2), (res, res), (res, res))
        crop[b] = 0.0
        for group in groups:
            windows = group.blocks[b]
            shapes = [
                (w[0].height, w[0].width)
                for w in (windows.inputs, windows.middles, windows.outputs)
            ]
            crop[b] += len(windows.inputs) * _block_macs(blocks[b], *shapes) + CALL_OVERHEAD_MACS
    costs = {
        start: sum(full[b] for b in range(1, start))
        + sum(crop[b] for b in range(start, feature_block + 1))
        for start in range(1, feature_block + 2)
    }
    return min(costs, key=costs.get)


def _block_macs(block, input_shape: tuple, middle_shape: tuple, output_shape: tuple) -> float:
    """Multiply-adds of one block on one window: transposed 3x3 conv + 4x4 FIR, then the 3x3 conv."""
    out_ch, in_ch = block.conv0.weight.shape[:2]
    return (
        input_shape[0] * input_shape[1] * in_ch * out_ch * 9
        + middle_shape[0] * middle_shape[1] * out_ch * 16
        + output_shape[0] * output_shape[1] * out_ch * out_ch * 9
    )
