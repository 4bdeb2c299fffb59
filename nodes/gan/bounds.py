"""Bounds on generator config fields. A checkpoint's config is someone else's data: nothing is
built from a value that is not typed, finite and inside these bounds (docs/PROJECTS.md, Limits)."""

from __future__ import annotations

import math
from typing import Any

# (field, smallest, largest) for StyleGAN2 (GeneratorConfig); StyleGAN3 passes its own table.
INT_BOUNDS = (
    ("z_dim", 1, 4096),
    ("w_dim", 1, 4096),
    ("c_dim", 0, 100_000),
    ("img_resolution", 4, 4096),
    ("img_channels", 1, 4),
    ("mapping_layers", 1, 32),
    ("channel_base", 1, 1 << 20),
    ("channel_max", 1, 4096),
    ("num_fp16_res", 0, 32),
    ("width_divisor", 1, 2),  # 2: StyleGAN-Human's H x H/2 maps
)
FLOAT_BOUNDS = (("mapping_lr_multiplier", 1e-6, 1e3),)
MAX_SOURCE_CHARS = 4096
MAX_EXTRA_DEPTH = 8


def check_bounds(cfg: Any, ints=INT_BOUNDS, floats=FLOAT_BOUNDS) -> None:
    """ValueError naming the first field of `cfg` that is not an integer (resp. a finite number)
    within its bounds, or a conv_clamp that is not None or a finite number > 0."""
    for name, low, high in ints:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer in [{low}, {high}], got {shown(value)}")
    for name, low, high in floats:
        value = getattr(cfg, name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ValueError(f"{name} must be a number in [{low}, {high}], got {shown(value)}")
    clamp = getattr(cfg, "conv_clamp", None)
    if clamp is not None and (
        isinstance(clamp, bool) or not isinstance(clamp, int | float) or not 0 < clamp < math.inf
    ):
        raise ValueError(f"conv_clamp must be None or a finite number > 0, got {shown(clamp)}")


def check_text_fields(cfg: Any) -> None:
    """`source` a string of at most MAX_SOURCE_CHARS; `extra` a JSON-like dict at most
    MAX_EXTRA_DEPTH deep (models put recommendations there, never structures to walk)."""
    if not isinstance(cfg.source, str) or len(cfg.source) > MAX_SOURCE_CHARS:
        raise ValueError(f"source must be a string of at most {MAX_SOURCE_CHARS} characters")
    if not isinstance(cfg.extra, dict):
        raise ValueError(f"extra must be an object, got {type(cfg.extra).__name__}")
    stack = [(cfg.extra, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_EXTRA_DEPTH:
            raise ValueError(f"extra is nested deeper than {MAX_EXTRA_DEPTH} levels")
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def shown(value: Any, limit: int = 60) -> str:
    """A value for an error message: short, and safe for integers of any size."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return f"an integer of {value.bit_length()} bits"
    text = (
        repr(value)
        if isinstance(value, str | int | float | bool | type(None))
        else type(value).__name__
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."
