"""The values that travel on DragGAN node links, and their port type names.

IMAGE is a float tensor [1, 3, H, W] in [-1, 1]; MASK a float tensor [H, W], 1 = may change
(the paper's flexible region), 0 = keep; LATENT and POINTS are the dataclasses below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from nodegraph.budgets import brief
from nodegraph.views import BrushEditor, PairsEditor, PortView, register_port_view

GENERATOR = "GENERATOR"
LATENT = "LATENT"
IMAGE = "IMAGE"
MASK = "MASK"
POINTS = "POINTS"

# The editor's image panel edits these params: PointSet's pairs by clicks, Mask's strokes by
# painting (nodegraph.views); the keys are those PointPairs.from_param and the Mask node read.
POINT_PAIRS_EDITOR = PairsEditor(first="handle", second="target")
STROKES_EDITOR = BrushEditor(points="points", radius="radius", mode="mode", paint="add", erase="erase")


@dataclass
class LatentCode:
    """A W+ code [1, num_ws, w_dim] with the space it is meant to be edited in and the image
    size of the generator it belongs to (Mask nodes take their size from it)."""

    ws: torch.Tensor
    space: str = "w+"
    resolution: int = 0
    source: str = ""

    def to(self, device) -> LatentCode:
        return LatentCode(self.ws.to(device), self.space, self.resolution, self.source)


@dataclass
class PointPairs:
    """Handle points and their targets, (x, y) in pixels of the image they edit."""

    handles: list[tuple[float, float]] = field(default_factory=list)
    targets: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.handles) != len(self.targets):
            raise ValueError(f"{len(self.handles)} handles but {len(self.targets)} targets: give one target per handle")

    @classmethod
    def from_param(cls, points: list) -> PointPairs:
        """From the PointSet param: [{"handle": [x, y], "target": [x, y]}, ...]; ValueError naming
        the pair at fault: a missing or unknown key, a non-number (true is not 1), a non-finite one."""
        handles, targets = [], []
        for i, pair in enumerate(points):
            if not isinstance(pair, dict) or "handle" not in pair or "target" not in pair:
                raise ValueError(f"points[{i}] must be {{'handle': [x, y], 'target': [x, y]}}, got {brief(pair)}")
            unknown = sorted(map(str, set(pair) - PAIR_KEYS))
            if unknown:
                raise ValueError(f"points[{i}] has unknown key {brief(unknown[0])}; a pair holds only 'handle' and 'target'")
            handles.append(_xy(pair["handle"], f"points[{i}].handle"))
            targets.append(_xy(pair["target"], f"points[{i}].target"))
        return cls(handles, targets)


PAIR_KEYS = frozenset({"handle", "target"})


def _xy(value, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{where} must be [x, y], got {brief(value)}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{where} must hold two numbers (true and false are not numbers), got {brief(value)}")
    x, y = float(value[0]) if abs(value[0]) < 1e308 else math.inf, float(value[1]) if abs(value[1]) < 1e308 else math.inf
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"{where} must be finite, got {brief(value)}")
    return (x, y)


def image_to_uint8(image: torch.Tensor):
    """IMAGE [1, 3, H, W] in [-1, 1] -> numpy uint8 [H, W, 3] for saving and display."""
    img = (image.detach()[0].float().clamp(-1, 1) + 1) * 127.5
    return img.round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def _pairs_of(points: PointPairs) -> tuple[list, list]:
    return list(points.handles), list(points.targets)


# How the editor shows each port type: the panel shows images, renders latents with a
# generator, draws a point set's handles and targets, tints masks.
register_port_view(IMAGE, PortView("image", (236, 160, 64)))
register_port_view(LATENT, PortView("code", (170, 120, 240)))
register_port_view(GENERATOR, PortView("model", (96, 200, 230)))
register_port_view(MASK, PortView("region", (120, 210, 120)))
register_port_view(POINTS, PortView("pairs", (235, 90, 90), pairs=_pairs_of))
