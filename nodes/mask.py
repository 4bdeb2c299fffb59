"""Mask node: the region a drag may change (1) and the region it must keep (0), from brush strokes.

Strokes are small JSON records, so edits undo one by one and diff well in the project file:
{"points": [[x, y], ...], "radius": r, "mode": "add" | "erase"} in image pixels; a stroke
covers every pixel whose centre lies within r of its polyline.
"""

from __future__ import annotations

import math

import torch

from nodegraph.node import Input, Node, Output, Param, file_key

from .types import IMAGE, LATENT, MASK

STROKE_MODES = ("add", "erase")


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
        Param("size", int, 0, min=0, max=4096, doc="mask size in pixels; 0 = from the linked input"),
        Param("fill", str, "keep", choices=("keep", "change"), doc="value before strokes: keep (0) or change (1)"),
        Param("strokes", list, [], doc='[{"points": [[x, y], ...], "radius": r, "mode": "add"|"erase"}]'),
        Param("from_image", "path", "", doc="a PNG whose bright pixels (> 50%) start as 'may change'"),
    ]
    pure = False  # from_image reads a file

    @classmethod
    def validate(cls, params: dict) -> None:
        for i, stroke in enumerate(params["strokes"]):
            check_stroke(stroke, f"strokes[{i}]")

    def impure_key(self, params: dict) -> str:
        return file_key(self.ctx.resolve_path(params["from_image"])) if params["from_image"] else "strokes"

    def compute(self, ctx, image=None, latent=None):
        params = ctx.params
        size = mask_size(params["size"], image, latent, ctx.node_id)
        if params["from_image"]:
            mask = load_mask_image(ctx.resolve_path(params["from_image"]), size)
        else:
            mask = torch.full((size, size), 1.0 if params["fill"] == "change" else 0.0)
        return {"mask": paint_strokes(mask, params["strokes"]).to(ctx.device)}


def mask_size(size: int, image, latent, node_id: str) -> int:
    if size:
        return size
    if image is not None:
        return int(image.shape[-1])
    if latent is not None and latent.resolution:
        return int(latent.resolution)
    raise ValueError(f"Mask node {node_id!r} has no size: set its `size` param or link an image or latent to it")


def check_stroke(stroke, where: str) -> None:
    if not isinstance(stroke, dict):
        raise ValueError(f"{where} must be an object with points, radius and mode, got {stroke!r}")
    points = stroke.get("points")
    if not isinstance(points, list) or not points:
        raise ValueError(f"{where}.points must be a non-empty list of [x, y]")
    for j, p in enumerate(points):
        if not (isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(v, int | float) and math.isfinite(v) for v in p)):
            raise ValueError(f"{where}.points[{j}] must be [x, y] with finite numbers, got {p!r}")
    radius = stroke.get("radius")
    if not isinstance(radius, int | float) or not math.isfinite(radius) or radius <= 0:
        raise ValueError(f"{where}.radius must be a number > 0, got {radius!r}")
    if stroke.get("mode", "add") not in STROKE_MODES:
        raise ValueError(f"{where}.mode must be one of {STROKE_MODES}, got {stroke.get('mode')!r}")


def paint_strokes(mask: torch.Tensor, strokes: list) -> torch.Tensor:
    """Apply strokes in order: each sets the pixels within its radius of its polyline."""
    mask = mask.clone()
    h, w = mask.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    for stroke in strokes:
        pts = torch.tensor(stroke["points"], dtype=torch.float32)
        segments = torch.stack([pts[:-1], pts[1:]], 1) if len(pts) > 1 else torch.stack([pts, pts], 1)
        dist = torch.full((h, w), math.inf)
        for a, b in segments:
            dist = torch.minimum(dist, _segment_distance(xs, ys, a, b))
        value = 1.0 if stroke.get("mode", "add") == "add" else 0.0
        mask[dist <= float(stroke["radius"])] = value
    return mask


def _segment_distance(xs, ys, a, b) -> torch.Tensor:
    ab = b - a
    length2 = float(ab.dot(ab))
    t = torch.zeros_like(xs) if length2 == 0 else (((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length2).clamp(0, 1)
    return torch.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1]))


def load_mask_image(path, size: int) -> torch.Tensor:
    from PIL import Image

    try:
        with Image.open(path) as img:
            gray = img.convert("L").resize((size, size), Image.NEAREST)
    except OSError as e:
        raise ValueError(f"cannot read mask image {path}: {e}") from e
    return (torch.frombuffer(bytearray(gray.tobytes()), dtype=torch.uint8).reshape(size, size) > 127).float()
