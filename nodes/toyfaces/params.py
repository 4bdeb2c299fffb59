"""The toyfaces parameter space: a table of named parameters and the map from z ~ N(0, I) to it.

Each z dimension i < NUM_PARAMS goes through the standard normal CDF to u in (0, 1) and then to
`low + (high - low) * u`, so sampling the generator's z samples the renderer's space (issue 7).

Kinds: "geometry" parameters move landmarks (or shapes a drag should be able to change: gaze,
eye openness, smile, mouth openness); "appearance" parameters (colours, hair style) never move
a landmark and are what a drag should keep. Lengths are fractions of the head's half-width `a`
or half-height `b` in the head's own frame (x right, y down, rotated by `roll`); head position
is a fraction of the image size. Left and right are the viewer's (image) left and right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class FaceParam:
    """One renderer parameter: its range and whether it is geometry or appearance."""

    name: str
    low: float
    high: float
    kind: str  # "geometry" or "appearance"
    doc: str


PARAMS: tuple[FaceParam, ...] = (
    # --- geometry: head -------------------------------------------------------------------
    FaceParam("head_x", 0.42, 0.58, "geometry", "head centre x, fraction of image width"),
    FaceParam("head_y", 0.40, 0.50, "geometry", "head centre y, fraction of image height"),
    FaceParam("head_size", 0.21, 0.27, "geometry", "head half-width a, fraction of image size"),
    FaceParam("head_aspect", 1.12, 1.32, "geometry", "head half-height b over half-width a"),
    FaceParam("roll", -0.30, 0.30, "geometry", "head roll in radians (clockwise on screen)"),
    FaceParam("yaw", -0.22, 0.22, "geometry", "yaw-like shift of the features, fraction of a"),
    FaceParam("ear_size", 0.14, 0.26, "geometry", "ear radius, fraction of a"),
    # --- geometry: eyes and brows ---------------------------------------------------------
    FaceParam("eye_y", -0.14, 0.04, "geometry", "eye line, fraction of b below the head centre"),
    FaceParam("eye_spacing", 0.35, 0.47, "geometry", "half the distance between eyes, fraction of a"),
    FaceParam("eye_size", 0.17, 0.24, "geometry", "eye half-width (centre to corner), fraction of a"),
    FaceParam("eye_open", 0.3, 1.0, "geometry", "eyelid openness, 1 = wide open"),
    FaceParam("gaze_x", -1.0, 1.0, "geometry", "iris offset to the right, fraction of its range"),
    FaceParam("gaze_y", -1.0, 1.0, "geometry", "iris offset downwards, fraction of its range"),
    FaceParam("brow_height", 0.15, 0.25, "geometry", "brow centre above the eye centre, fraction of b"),
    FaceParam("brow_tilt", -0.35, 0.35, "geometry", "brow angle, radians; > 0 lowers the inner end"),
    # --- geometry: nose and mouth ---------------------------------------------------------
    FaceParam("nose_length", 0.20, 0.34, "geometry", "nose tip below the eye line, fraction of b"),
    FaceParam("nose_width", 0.09, 0.16, "geometry", "half-width of the nose base, fraction of a"),
    FaceParam("mouth_y", 0.50, 0.64, "geometry", "mouth line below the head centre, fraction of b"),
    FaceParam("mouth_width", 0.24, 0.42, "geometry", "mouth half-width, fraction of a"),
    FaceParam("smile", -0.45, 1.0, "geometry", "lip curve: > 0 corners up, < 0 corners down"),
    FaceParam("mouth_open", -0.4, 1.0, "geometry", "mouth opening; <= 0 closed, 1 wide open"),
    # --- appearance -----------------------------------------------------------------------
    FaceParam("skin_tone", 0.0, 1.0, "appearance", "skin colour from pale (0) to dark (1)"),
    FaceParam("hair_hue", 0.0, 1.0, "appearance", "hair hue (HSV)"),
    FaceParam("hair_saturation", 0.15, 0.85, "appearance", "hair saturation (HSV)"),
    FaceParam("hair_value", 0.10, 0.80, "appearance", "hair brightness (HSV)"),
    FaceParam(
        "hair_volume", 0.03, 0.16, "appearance", "how far the hair stands off the head, fraction"
    ),
    FaceParam("hair_fringe", 0.28, 0.52, "appearance", "fringe line below the head top, fraction of b"),
    FaceParam(
        "hair_sides", -0.55, 0.25, "appearance", "how far the hair runs down the sides (radians)"
    ),
    FaceParam("hair_wave", 0.0, 0.14, "appearance", "scallop depth of the fringe, fraction of b"),
    FaceParam("hair_length", -0.6, 1.0, "appearance", "long hair behind the head; <= 0 none"),
    FaceParam("iris_hue", 0.0, 1.0, "appearance", "iris hue (HSV)"),
    FaceParam("lip_tint", 0.0, 1.0, "appearance", "lip colour from pink (0) to brownish red (1)"),
    FaceParam("background_hue", 0.0, 1.0, "appearance", "background hue (HSV)"),
    FaceParam("background_value", 0.45, 0.95, "appearance", "background brightness (HSV)"),
    FaceParam("shirt_hue", 0.0, 1.0, "appearance", "shirt hue (HSV)"),
)

NUM_PARAMS = len(PARAMS)
PARAM_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMS)
PARAM_INDEX: dict[str, int] = {p.name: i for i, p in enumerate(PARAMS)}
LOW = np.array([p.low for p in PARAMS], dtype=np.float64)
HIGH = np.array([p.high for p in PARAMS], dtype=np.float64)
GEOMETRY_MASK = np.array([p.kind == "geometry" for p in PARAMS])
GEOMETRY_INDICES: tuple[int, ...] = tuple(np.flatnonzero(GEOMETRY_MASK).tolist())
APPEARANCE_INDICES: tuple[int, ...] = tuple(np.flatnonzero(~GEOMETRY_MASK).tolist())

# Geometry parameters that move no landmark: they shape the eyelids, the brows' slant and the
# nostrils between the landmarks (eye corners and centres, brow centres, nose tip). A drag pulled by
# the landmarks alone has nothing that tells it their targets (tests/toyfaces/test_toyfaces_params.py).
LANDMARK_BLIND: tuple[str, ...] = ("eye_open", "brow_tilt", "nose_width")

# The hair's shape (not its colour) is listed with the geometry in the style-mixing split:
# StyleGAN's coarse styles carry "pose, general hair style, face shape" (Karras et al. 2019,
# section 3.1), and a silhouette is what the first W+ rows draw, not the colour rows.
HAIR_SHAPE: tuple[str, ...] = ("hair_volume", "hair_fringe", "hair_sides", "hair_wave", "hair_length")
COARSE_INDICES: tuple[int, ...] = tuple(
    i for i, p in enumerate(PARAMS) if p.kind == "geometry" or p.name in HAIR_SHAPE
)
FINE_INDICES: tuple[int, ...] = tuple(i for i in range(len(PARAMS)) if i not in COARSE_INDICES)

# Keep u away from 0 and 1 so that the inverse map stays finite.
_U_EPS = 1e-6


def _as_torch(x: ArrayLike) -> tuple[torch.Tensor, bool]:
    if isinstance(x, torch.Tensor):
        return x, True
    return torch.as_tensor(np.asarray(x, dtype=np.float64)), False


def params_from_z(z: ArrayLike) -> ArrayLike:
    """Map z [N, z_dim >= NUM_PARAMS] (or [z_dim]) to parameters [N, NUM_PARAMS] (or [NUM_PARAMS]).

    Uses the first NUM_PARAMS dimensions: params = low + (high - low) * Phi(z). Returns the
    same array type as the input (numpy float64 for numpy, the input's dtype for torch).
    """
    zt, was_torch = _as_torch(z)
    if zt.shape[-1] < NUM_PARAMS:
        raise ValueError(f"params_from_z: z has {zt.shape[-1]} dims, needs >= {NUM_PARAMS}")
    u = torch.special.ndtr(zt[..., :NUM_PARAMS])
    low = torch.as_tensor(LOW, dtype=u.dtype, device=u.device)
    high = torch.as_tensor(HIGH, dtype=u.dtype, device=u.device)
    params = torch.minimum(torch.maximum(low + (high - low) * u, low), high)  # exact ends
    return params if was_torch else params.numpy()


def z_for_params(
    params: ArrayLike, z_dim: int = NUM_PARAMS, rest: ArrayLike | None = None
) -> ArrayLike:
    """The z that `params_from_z` maps to `params` (the inverse map).

    Parameters outside [low, high] are clipped to just inside the range. Dimensions beyond
    NUM_PARAMS come from `rest` ([..., z_dim - NUM_PARAMS]) or are zero.
    """
    pt, was_torch = _as_torch(params)
    low = torch.as_tensor(LOW, dtype=pt.dtype, device=pt.device)
    high = torch.as_tensor(HIGH, dtype=pt.dtype, device=pt.device)
    u = ((pt - low) / (high - low)).clamp(_U_EPS, 1 - _U_EPS)
    z = torch.special.ndtri(u)
    if z_dim > NUM_PARAMS:
        extra_shape = (*z.shape[:-1], z_dim - NUM_PARAMS)
        extra = torch.zeros(extra_shape, dtype=z.dtype) if rest is None else _as_torch(rest)[0]
        z = torch.cat([z, extra.to(z.dtype).expand(extra_shape)], dim=-1)
    return z if was_torch else z.numpy()


def default_params() -> np.ndarray:
    """The parameters of z = 0: every parameter at the middle of its range."""
    return (LOW + HIGH) / 2


def with_params(params: np.ndarray, **changes: float) -> np.ndarray:
    """A copy of `params` ([NUM_PARAMS]) with the named parameters replaced."""
    out = np.array(params, dtype=np.float64, copy=True)
    for name, value in changes.items():
        if name not in PARAM_INDEX:
            raise KeyError(f"unknown toyfaces parameter {name!r}; known: {', '.join(PARAM_NAMES)}")
        out[..., PARAM_INDEX[name]] = value
    return out


def sample_z(n: int, z_dim: int = NUM_PARAMS, seed: int | np.random.Generator = 0) -> np.ndarray:
    """n latent codes z ~ N(0, I) [n, z_dim] from a seed (or numpy Generator), reproducibly."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.standard_normal((n, z_dim))


def resample_geometry(z: ArrayLike, seed: int | np.random.Generator = 0) -> ArrayLike:
    """A copy of z with every geometry dimension redrawn from N(0, 1); all other dims kept."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    zt, was_torch = _as_torch(z)
    fresh = torch.as_tensor(rng.standard_normal((*zt.shape[:-1], len(GEOMETRY_INDICES))))
    out = zt.clone()
    out[..., list(GEOMETRY_INDICES)] = fresh.to(dtype=zt.dtype, device=zt.device)
    return out if was_torch else out.numpy()


def sample_geometry_pair(
    n: int = 1, z_dim: int = NUM_PARAMS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (z1, z2), each [n, z_dim], that differ only in the geometry dimensions.

    For the paper's Table 1 protocol (SPEC §5): same appearance and same unused dims,
    new geometry, so z2's landmarks are targets reachable by dragging z1's.
    """
    rng = np.random.default_rng(seed)
    z1 = rng.standard_normal((n, z_dim))
    return z1, resample_geometry(z1, rng)


def describe(params: np.ndarray) -> str:
    """One line per parameter, `name = value  (low .. high, kind)`, for logs and debugging."""
    values = np.asarray(params, dtype=np.float64).reshape(NUM_PARAMS)
    return "\n".join(
        f"{p.name:>16} = {v:+.3f}  ({p.low:+.2f} .. {p.high:+.2f}, {p.kind})"
        for p, v in zip(PARAMS, values)
    )
