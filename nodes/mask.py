"""Mask node: the region a drag may change (1) and the region it must keep (0), from brush strokes.

Strokes are small JSON records, so edits undo one by one and diff well in the project file:
{"points": [[x, y], ...], "radius": r, "mode": "add" | "erase"} in image pixels; a stroke
covers every pixel whose centre lies within r of its polyline.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from nodegraph.budgets import brief
from nodegraph.node import Input, Node, Output, Param, file_key

from .image_load import open_image
from .types import IMAGE, LATENT, MASK, STROKES_EDITOR

STROKE_MODES = ("add", "erase")
# Limits (docs/PROJECTS.md, "Limits"): a project is someone else's data.
MAX_MASK_SIZE = 4096
MAX_STROKES = 10_000
MAX_STROKE_POINTS = 100_000  # all strokes of one mask together
MAX_COORDINATE = 1e6  # |x|, |y| of a stroke point, in pixels
MAX_RADIUS = 16384.0
MAX_PAINT_PIXELS = 64 * 4096**2  # clipped bounding-box areas of all strokes of one mask together
PAIRS_PER_CHUNK = 1 << 18  # (segment, row) pairs painted between two cancel checks


class MaskNode(Node):
    type_name = "Mask"
    category = "Edit"
    doc = "Flexible-area mask (1 = may change). Size from `size` or from a linked image or latent."
    inputs = [
        Input("image", IMAGE, optional=True, doc="take the size from this image"),
        Input("latent", LATENT, optional=True, doc="take the size from this latent's generator"),
    ]
    outputs = [Output("mask", MASK, "[H, W] float, 1 = may change")]
    params = [
        Param("size", int, 0, min=0, max=MAX_MASK_SIZE, doc="mask size in pixels; 0 = from the linked input"),
        Param("fill", str, "keep", choices=("keep", "change"), doc="value before strokes: keep (0) or change (1)"),
        Param("strokes", list, [], doc='[{"points": [[x, y], ...], "radius": r, "mode": "add"|"erase"}]', editor=STROKES_EDITOR),
        Param("from_image", "path", "", doc="a PNG whose bright pixels (> 50%) start as 'may change'"),
    ]
    pure = False  # from_image reads a file

    @classmethod
    def validate(cls, params: dict) -> None:
        check_strokes(params["strokes"])
        check_paint_cost(params["strokes"], params["size"] or MAX_MASK_SIZE)

    def impure_key(self, params: dict) -> str:
        return file_key(self.ctx.resolve_path(params["from_image"])) if params["from_image"] else "strokes"

    def compute(self, ctx, image=None, latent=None):
        params = ctx.params
        size = mask_size(params["size"], image, latent, ctx.node_id)
        if params["from_image"]:
            mask = load_mask_image(ctx.resolve_path(params["from_image"]), size)
        else:
            mask = torch.full((size, size), 1.0 if params["fill"] == "change" else 0.0)
        return {"mask": paint_strokes(mask, params["strokes"], ctx.check_cancel).to(ctx.device)}


def mask_size(size: int, image, latent, node_id: str) -> int:
    if not size and image is not None:
        size = int(image.shape[-1])
    elif not size and latent is not None and latent.resolution:
        size = int(latent.resolution)
    if not size:
        raise ValueError(f"Mask node {node_id!r} has no size: set its `size` param or link an image or latent to it")
    if size > MAX_MASK_SIZE:
        raise ValueError(f"Mask node {node_id!r}: a {size} px mask is over the limit of {MAX_MASK_SIZE} px")
    return size


def check_strokes(strokes: list) -> None:
    """ValueError naming the first stroke, point or field that is malformed or over a limit."""
    if len(strokes) > MAX_STROKES:
        raise ValueError(f"strokes holds {len(strokes):,} strokes; the limit is {MAX_STROKES:,}")
    total = sum(len(s.get("points") or ()) if isinstance(s, dict) and isinstance(s.get("points"), list) else 0 for s in strokes)
    if total > MAX_STROKE_POINTS:
        raise ValueError(f"strokes hold {total:,} points together; the limit is {MAX_STROKE_POINTS:,}")
    for i, stroke in enumerate(strokes):
        check_stroke(stroke, f"strokes[{i}]")


def check_paint_cost(strokes: list, size: int) -> None:
    """ValueError, before any painting, when the strokes' bounding boxes clipped to a `size` px
    mask (the largest one when the size comes from a link) cover over MAX_PAINT_PIXELS pixels
    together: painting costs about one visit per such pixel."""
    total = 0
    for stroke in strokes:
        xs = [p[0] for p in stroke["points"]]
        ys = [p[1] for p in stroke["points"]]
        r = float(stroke["radius"])
        width = max(0, min(size, max(xs) + r + 1) - max(0, min(xs) - r))
        height = max(0, min(size, max(ys) + r + 1) - max(0, min(ys) - r))
        total += int(width) * int(height)
    if total > MAX_PAINT_PIXELS:
        raise ValueError(
            f"params.strokes would paint {total:,} pixels (their bounding boxes on a {size} px mask);"
            f" the limit is {MAX_PAINT_PIXELS:,}: use fewer, shorter or thinner strokes"
        )


STROKE_KEYS = frozenset({"points", "radius", "mode"})


def check_stroke(stroke, where: str) -> None:
    if not isinstance(stroke, dict):
        raise ValueError(f"{where} must be an object with points, radius and mode, got {brief(stroke)}")
    unknown = sorted(map(str, set(stroke) - STROKE_KEYS))
    if unknown:
        raise ValueError(f"{where} has unknown key {brief(unknown[0])}; a stroke holds only points, radius and mode")
    points = stroke.get("points")
    if not isinstance(points, list) or not points:
        raise ValueError(f"{where}.points must be a non-empty list of [x, y]")
    for j, p in enumerate(points):
        if not (isinstance(p, list | tuple) and len(p) == 2 and all(_is_coordinate(v) for v in p)):
            raise ValueError(f"{where}.points[{j}] must be [x, y] with numbers within ±{MAX_COORDINATE:g}, got {brief(p)}")
    radius = stroke.get("radius")
    if not _is_number(radius) or not 0 < radius <= MAX_RADIUS:
        raise ValueError(f"{where}.radius must be a number in (0, {MAX_RADIUS:g}], got {brief(radius)}")
    if stroke.get("mode", "add") not in STROKE_MODES:
        raise ValueError(f"{where}.mode must be one of {STROKE_MODES}, got {brief(stroke.get('mode'))}")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_coordinate(value) -> bool:
    return _is_number(value) and abs(value) <= MAX_COORDINATE


def paint_strokes(mask: torch.Tensor, strokes: list, check_cancel: Callable[[], None] | None = None) -> torch.Tensor:
    """Apply strokes in order, in place (a 4096 px mask is 64 MB): each sets the pixels within
    its radius of its polyline. `check_cancel` is called between chunks of work (it raises to stop)."""
    for stroke in strokes:
        box, covered = stroke_coverage(mask.shape, stroke["points"], float(stroke["radius"]), check_cancel)
        mask[box].masked_fill_(covered, 1.0 if stroke.get("mode", "add") == "add" else 0.0)
    return mask


def stroke_coverage(shape, points: list, radius: float, check_cancel: Callable[[], None] | None = None):
    """(box, covered): the pixels whose centre (x, y integer) lies within `radius` of the
    polyline are `covered` [rows, cols] bool, inside `box` (a pair of slices) of the [H, W] mask.

    A segment's capsule meets each row in one interval, found in closed form; the intervals are
    summed as +1/-1 edges and integrated along the row. The cost is one interval per (segment,
    row) plus one pass over the stroke's bounding box, whatever the radius."""
    h, w = shape
    pts = torch.tensor(points, dtype=torch.float64).reshape(-1, 2)
    a, b = (pts[:-1], pts[1:]) if len(pts) > 1 else (pts, pts)
    left = max(0, math.ceil(float(pts[:, 0].min()) - radius))
    right = min(w - 1, math.floor(float(pts[:, 0].max()) + radius))
    top = (torch.minimum(a[:, 1], b[:, 1]) - radius).ceil().clamp(0, h).long()
    bottom = (torch.maximum(a[:, 1], b[:, 1]) + radius).floor().clamp(-1, h - 1).long()
    first_row, last_row = int(top.min()), int(bottom.max())
    if right < left or last_row < first_row:
        return (slice(0, 0), slice(0, 0)), torch.zeros(0, 0, dtype=torch.bool)
    box = (slice(first_row, last_row + 1), slice(left, right + 1))
    h, w = last_row + 1 - first_row, right + 1 - left  # from here on, in the box
    a, b, top = a - torch.tensor([left, first_row]), b - torch.tensor([left, first_row]), top - first_row
    rows = (bottom - first_row - top + 1).clamp(min=0)
    # Per pixel, at most one +1 per segment is open: int16 holds that for any stroke but the longest.
    edges = torch.zeros(h * (w + 1), dtype=torch.int16 if len(a) < 2**15 else torch.int32)
    for first, last in _chunks(rows.tolist(), PAIRS_PER_CHUNK):
        if check_cancel is not None:
            check_cancel()
        counts = rows[first:last]
        seg = torch.repeat_interleave(torch.arange(first, last), counts)
        starts = torch.cumsum(counts, 0) - counts
        y = top[seg] + torch.arange(len(seg)) - torch.repeat_interleave(starts, counts)
        x0, x1 = _capsule_row_span(a[seg], b[seg], y.double(), radius)
        c0, c1 = x0.ceil().clamp(min=0, max=w), x1.floor().clamp(min=-1, max=w - 1)
        keep = c0 <= c1
        y, c0, c1 = y[keep], c0[keep].long(), c1[keep].long()
        ones = torch.ones(len(y), dtype=edges.dtype)
        edges.index_put_((y * (w + 1) + c0,), ones, accumulate=True)
        edges.index_put_((y * (w + 1) + c1 + 1,), -ones, accumulate=True)
    return box, edges.reshape(h, w + 1).cumsum_(1)[:, :w] > 0


def _chunks(rows: list[int], budget: int):
    """(first, last) segment ranges whose rows sum to about `budget`."""
    first, total = 0, 0
    for i, count in enumerate(rows):
        total += count
        if total >= budget:
            yield first, i + 1
            first, total = i + 1, 0
    if first < len(rows):
        yield first, len(rows)


def _capsule_row_span(a: torch.Tensor, b: torch.Tensor, y: torch.Tensor, r: float):
    """The x interval [x0, x1] where row y meets the capsule of radius r around segment ab
    (x0 > x1 when it misses): the hull of the end discs' and the band's intervals, since the
    capsule is convex. All arguments per (segment, row) pair."""
    inf = torch.full_like(y, math.inf)
    x0, x1 = inf.clone(), -inf
    for end in (a, b):
        dy = y - end[:, 1]
        half = torch.sqrt((r * r - dy * dy).clamp(min=0))
        hit = dy.abs() <= r
        x0 = torch.where(hit, torch.minimum(x0, end[:, 0] - half), x0)
        x1 = torch.where(hit, torch.maximum(x1, end[:, 0] + half), x1)
    d = b - a
    length2 = (d * d).sum(1)
    band = length2 > 0
    # Projection onto ab within [0, |ab|^2]: dx (x - ax) in [-c, |ab|^2 - c], c = dy (y - ay).
    lo1, hi1 = _linear_span(d[:, 0], -(d[:, 1] * (y - a[:, 1])), length2 - d[:, 1] * (y - a[:, 1]), a[:, 0])
    # Distance to the line ab at most r: -dy (x - ax) in [-r|ab| - e, r|ab| - e], e = dx (y - ay).
    e = d[:, 0] * (y - a[:, 1])
    reach = r * length2.sqrt()
    lo2, hi2 = _linear_span(-d[:, 1], -reach - e, reach - e, a[:, 0])
    lo, hi = torch.maximum(lo1, lo2), torch.minimum(hi1, hi2)
    inside = band & (lo <= hi)
    x0 = torch.where(inside, torch.minimum(x0, lo), x0)
    x1 = torch.where(inside, torch.maximum(x1, hi), x1)
    return x0, x1


def _linear_span(k: torch.Tensor, low: torch.Tensor, high: torch.Tensor, origin: torch.Tensor):
    """The x with k (x - origin) in [low, high]: an interval, everything (k = 0 and 0 in
    [low, high]) or nothing (returned as inf, -inf)."""
    safe = torch.where(k == 0, torch.ones_like(k), k)
    ends = torch.stack([low / safe, high / safe])
    lo, hi = origin + ends.min(0).values, origin + ends.max(0).values
    everywhere = (low <= 0) & (0 <= high)
    inf = torch.full_like(lo, math.inf)
    lo = torch.where(k == 0, torch.where(everywhere, -inf, inf), lo)
    hi = torch.where(k == 0, torch.where(everywhere, inf, -inf), hi)
    return lo, hi


def load_mask_image(path, size: int) -> torch.Tensor:
    from PIL import Image

    with open_image(path, "mask image", "check the Mask's from_image path") as img:
        gray = img.convert("L").resize((size, size), Image.NEAREST)
    return (torch.frombuffer(bytearray(gray.tobytes()), dtype=torch.uint8).reshape(size, size) > 127).float()
