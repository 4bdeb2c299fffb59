"""Procedural, deterministic cartoon faces with exact landmarks: the toyfaces renderer (issue 7).

`render(params)` draws one face with PIL at `supersample` times the output size and box-filters
it down, so edges are anti-aliased; `render_batch(z)` does it for a batch and returns tensors.

Coordinates. All geometry lives in a continuous image frame where output pixel column i covers
[i, i + 1) and its centre is at i + 0.5 (the frame of torch `grid_sample(align_corners=False)`).
Landmarks follow the drag engine's (and official DragGAN's) integer-pixel convention instead:
a landmark (x, y) is the point at the centre of pixel column x, row y, i.e. continuous u = x + 0.5.
So `landmark = continuous - 0.5`. PIL polygons take continuous coordinates of the supersampled
canvas (pixel k covers [k, k + 1)), so a point u is drawn at u * supersample; the box filter
maps canvas pixels [s i, s i + s) onto output pixel i, which keeps the two frames aligned.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from .params import NUM_PARAMS, PARAM_INDEX, params_from_z

LANDMARK_NAMES: tuple[str, ...] = (
    "eye_left_centre",
    "eye_left_outer",
    "eye_left_inner",
    "eye_right_centre",
    "eye_right_inner",
    "eye_right_outer",
    "pupil_left",
    "pupil_right",
    "brow_left",
    "brow_right",
    "nose_tip",
    "mouth_left",
    "mouth_right",
    "lip_upper",
    "lip_lower",
    "chin",
    "jaw_left",
    "jaw_right",
    "ear_left",
    "ear_right",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)
LANDMARK_INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}

# Skin palette from pale to dark; `skin_tone` interpolates along it.
_SKIN = np.array(
    [[255, 226, 204], [241, 194, 150], [214, 152, 104], [160, 102, 62], [98, 62, 40]], float
)
_CIRCLE = np.linspace(0.0, 2.0 * np.pi, 72, endpoint=False)
_SPAN = np.linspace(-1.0, 1.0, 21)  # parameter t along eyes, brows, lips: -1 left end, 1 right


@dataclass
class Face:
    """One face's shapes in continuous output-pixel coordinates, and its colours (RGB 0..255)."""

    polygons: list[tuple[np.ndarray, tuple[int, int, int]]]  # drawn in order, later on top
    landmarks: np.ndarray  # [K, 2] continuous coordinates (not yet shifted by -0.5)
    background: tuple[int, int, int]


class _HeadFrame:
    """The head's frame: origin at the head centre, x right, y down, rotated by roll."""

    def __init__(self, centre: np.ndarray, roll: float) -> None:
        self.centre = centre
        c, s = np.cos(roll), np.sin(roll)
        self.rotation = np.array([[c, -s], [s, c]])

    def to_image(self, local: np.ndarray) -> np.ndarray:
        return local @ self.rotation.T + self.centre


def _param(params: np.ndarray, name: str) -> float:
    return float(params[PARAM_INDEX[name]])


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def _rgb(color: np.ndarray) -> tuple[int, int, int]:
    c = np.clip(np.round(color), 0, 255).astype(int)
    return int(c[0]), int(c[1]), int(c[2])


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    return np.stack([cx + rx * np.cos(_CIRCLE), cy + ry * np.sin(_CIRCLE)], axis=1)


def _stroke(points: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """A thick line along `points` [n, 2] as a polygon, `width` per point (or one value)."""
    tangent = np.gradient(points, axis=0)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-12
    offset = normal * (np.asarray(width, dtype=float).reshape(-1, 1) / 2)
    return np.concatenate([points + offset, (points - offset)[::-1]], axis=0)


def _colours(params: np.ndarray) -> dict[str, tuple[int, int, int]]:
    tone = _param(params, "skin_tone") * (len(_SKIN) - 1)
    lo = min(int(tone), len(_SKIN) - 2)
    skin = _SKIN[lo] + (tone - lo) * (_SKIN[lo + 1] - _SKIN[lo])
    hair_h = _param(params, "hair_hue")
    hair_s, hair_v = _param(params, "hair_saturation"), _param(params, "hair_value")
    lip_t = _param(params, "lip_tint")
    lip = np.array([200, 96, 104]) * (1 - lip_t) + np.array([150, 58, 48]) * lip_t
    lip = lip * (0.75 + 0.25 * skin / 255)
    bg_h = _param(params, "background_hue")
    return {
        "skin": _rgb(skin),
        "skin_shade": _rgb(skin * 0.82),
        "skin_line": _rgb(skin * 0.55),
        "nostril": _rgb(skin * 0.3),
        "hair": _hsv(hair_h, hair_s, hair_v),
        "brow": _hsv(hair_h, min(1.0, hair_s + 0.1), hair_v * 0.6),
        "iris": _hsv(_param(params, "iris_hue"), 0.65, 0.6),
        "lip": _rgb(lip),
        "background": _hsv(bg_h, 0.35, _param(params, "background_value")),
        "shirt": _hsv(_param(params, "shirt_hue"), 0.55, 0.7),
        "shirt_shade": _hsv(_param(params, "shirt_hue"), 0.6, 0.5),
    }


def face_shapes(params: np.ndarray, size: int = 128) -> Face:
    """The polygons, colours and exact landmarks of one face ([NUM_PARAMS] parameters).

    Every landmark is computed from the same numbers that place the shape it marks, so
    landmarks move exactly with the geometry that draws them.
    """
    p = np.asarray(params, dtype=np.float64).reshape(NUM_PARAMS)
    col = _colours(p)
    a = _param(p, "head_size") * size
    b = _param(p, "head_aspect") * a
    head = _HeadFrame(
        np.array([_param(p, "head_x"), _param(p, "head_y")]) * size, _param(p, "roll")
    )
    shift = _param(p, "yaw") * a
    shapes: list[tuple[np.ndarray, tuple[int, int, int]]] = []
    landmarks: dict[str, np.ndarray] = {}

    def add(local: np.ndarray, colour: tuple[int, int, int]) -> None:
        shapes.append((head.to_image(local), colour))

    def mark(name: str, local_xy: tuple[float, float]) -> None:
        landmarks[name] = head.to_image(np.array([local_xy], dtype=float))[0]

    _body(p, shapes, head, a, b, size, col)
    _back_hair(p, add, a, b, col)
    _head(p, add, mark, a, b, col)
    eye_line = _param(p, "eye_y") * b
    for side in (-1.0, 1.0):
        _eye(p, add, mark, side, a, b, eye_line, shift, col)
    _nose(p, add, mark, a, b, eye_line, shift, col)
    _mouth(p, add, mark, a, b, shift, col)
    _front_hair(p, add, a, b, col)
    _ears(p, add, mark, a, b, shift, col)
    for side in (-1.0, 1.0):
        _brow(p, add, mark, side, a, b, eye_line, shift, col)
    points = np.stack([landmarks[name] for name in LANDMARK_NAMES]).astype(np.float64)
    return Face(polygons=shapes, landmarks=points, background=col["background"])


def _body(p, shapes, head, a, b, size, col) -> None:
    """Shirt and neck, upright in the image (they do not roll with the head)."""
    cx, cy = head.centre
    shoulder_y = cy + b * 1.02
    bottom = size + 2.0
    shirt = np.array(
        [
            [cx - 0.5 * a, shoulder_y],
            [cx + 0.5 * a, shoulder_y],
            [cx + 1.7 * a, shoulder_y + 0.3 * a],
            [cx + 2.2 * a, bottom],
            [cx - 2.2 * a, bottom],
            [cx - 1.7 * a, shoulder_y + 0.3 * a],
        ]
    )
    shapes.append((shirt, col["shirt"]))
    neck = np.array(
        [
            [cx - 0.42 * a, cy],
            [cx + 0.42 * a, cy],
            [cx + 0.42 * a, shoulder_y + 0.12 * a],
            [cx, shoulder_y + 0.45 * a],
            [cx - 0.42 * a, shoulder_y + 0.12 * a],
        ]
    )
    shapes.append((neck, col["skin_shade"]))


def _hair_outer(p, a, b, theta: np.ndarray) -> np.ndarray:
    volume = _param(p, "hair_volume")
    return np.stack(
        [
            a * (1 + volume) * np.cos(theta),
            b * (1 + 0.8 * volume) * np.sin(theta) - 0.4 * volume * b,
        ],
        1,
    )


def _back_hair(p, add, a, b, col) -> None:
    length = _param(p, "hair_length")
    if length <= 0:
        return
    top = _hair_outer(p, a, b, np.linspace(np.pi, 2 * np.pi, 24))
    width = a * (1 + _param(p, "hair_volume")) * 1.04
    end = b * (0.2 + 1.1 * length)
    t = np.linspace(0.0, np.pi, 12)
    bottom = np.stack([width * np.cos(t), end + 0.15 * a * np.sin(t)], 1)
    add(np.concatenate([top, bottom]), col["hair"])


def _head(p, add, mark, a, b, col) -> None:
    add(_ellipse(0.0, 0.0, a + 0.25, b + 0.25), col["skin_line"])
    add(_ellipse(0.0, 0.0, a - 0.25, b - 0.25), col["skin"])
    mark("chin", (0.0, b))
    jaw = np.deg2rad(52.0)
    mark("jaw_left", (-a * np.sin(jaw), b * np.cos(jaw)))
    mark("jaw_right", (a * np.sin(jaw), b * np.cos(jaw)))


def _ears(p, add, mark, a, b, shift, col) -> None:
    """Half-ellipse ears on the head's edge, drawn over the hair so they always show."""
    ear_r = _param(p, "ear_size") * a
    ear_y = _param(p, "eye_y") * b + 0.12 * b
    edge_x = a * np.sqrt(1 - (ear_y / b) ** 2) * 0.96
    half = np.linspace(-0.5 * np.pi, 0.5 * np.pi, 19)
    for side, name in ((-1.0, "ear_left"), (1.0, "ear_right")):
        x = side * edge_x - 0.3 * shift
        for scale, colour in ((1.0, col["skin_line"]), (0.9, col["skin"])):
            rx, ry = 0.75 * ear_r * scale, ear_r * scale
            add(np.stack([x + side * rx * np.cos(half), ear_y + ry * np.sin(half)], 1), colour)
        inner = 0.4 * ear_r * np.cos(half[3:-3])
        add(
            np.stack(
                [x + side * (0.1 * ear_r + inner), ear_y + 0.55 * ear_r * np.sin(half[3:-3])], 1
            ),
            col["skin_shade"],
        )
        mark(name, (x + side * 0.75 * ear_r, ear_y))


def _eye(p, add, mark, side, a, b, eye_line, shift, col) -> None:
    """Sclera, iris and pupil placed by gaze, then skin-coloured lids cut the opening."""
    half_w = _param(p, "eye_size") * a
    cx = side * _param(p, "eye_spacing") * a + shift
    cy = eye_line
    openness = _param(p, "eye_open")
    upper_h = 0.7 * half_w * openness
    lower_h = 0.28 * half_w + 0.08 * half_w * openness
    t = _SPAN
    bulge = (1 - t**2) ** 0.75
    upper = np.stack([cx + half_w * t, cy - upper_h * bulge], 1)
    lower = np.stack([cx + half_w * t, cy + lower_h * bulge], 1)
    add(np.concatenate([upper, lower[::-1]]), (250, 250, 248))
    iris_r = 0.46 * half_w
    ix = cx + _param(p, "gaze_x") * 0.75 * (half_w - iris_r)
    iy = cy + _param(p, "gaze_y") * 0.28 * half_w
    add(_ellipse(ix, iy, iris_r, iris_r), col["iris"])
    add(_ellipse(ix, iy, 0.5 * iris_r, 0.5 * iris_r), (20, 16, 18))
    add(
        _ellipse(ix - 0.3 * iris_r, iy - 0.35 * iris_r, 0.2 * iris_r, 0.2 * iris_r), (255, 255, 255)
    )
    margin_x, reach = half_w * 1.08, half_w * 1.1
    upper_lid = np.concatenate(
        [
            upper,
            [
                [cx + margin_x, cy],
                [cx + margin_x, cy - reach],
                [cx - margin_x, cy - reach],
                [cx - margin_x, cy],
            ],
        ]
    )
    lower_lid = np.concatenate(
        [
            lower,
            [
                [cx + margin_x, cy],
                [cx + margin_x, cy + reach],
                [cx - margin_x, cy + reach],
                [cx - margin_x, cy],
            ],
        ]
    )
    add(upper_lid, col["skin"])
    add(lower_lid, col["skin"])
    add(_stroke(upper, 0.16 * half_w * (0.4 + 0.6 * bulge)), (35, 25, 25))
    add(_stroke(lower, 0.05 * half_w * (0.3 + 0.7 * bulge)), col["skin_line"])
    name = "left" if side < 0 else "right"
    mark(f"eye_{name}_centre", (cx, cy))
    mark(f"eye_{name}_outer", (cx + side * half_w, cy))
    mark(f"eye_{name}_inner", (cx - side * half_w, cy))
    mark(f"pupil_{name}", (ix, iy))


def _brow(p, add, mark, side, a, b, eye_line, shift, col) -> None:
    half_w = _param(p, "eye_size") * a
    cx = side * _param(p, "eye_spacing") * a + shift
    cy = eye_line - _param(p, "brow_height") * b
    tilt = _param(p, "brow_tilt") * -side  # > 0 lowers the inner end (towards the nose)
    direction = np.array([np.cos(tilt), np.sin(tilt)])
    up = np.array([direction[1], -direction[0]])
    length = 1.2 * half_w
    t = _SPAN[:, None]
    line = np.array([cx, cy]) + direction * length * t - up * 0.18 * half_w * t**2
    taper = (1 - 0.35 * side * _SPAN) * (1 - 0.3 * _SPAN**2)  # thickest near the nose
    add(_stroke(line, 0.3 * half_w * taper), col["brow"])
    mark(f"brow_{'left' if side < 0 else 'right'}", (cx, cy))


def _nose(p, add, mark, a, b, eye_line, shift, col) -> None:
    tip_x = 1.35 * shift
    tip_y = eye_line + _param(p, "nose_length") * b
    half_w = _param(p, "nose_width") * a
    top = np.array([1.1 * shift, eye_line + 0.06 * b])
    t = np.linspace(0.0, np.pi, 13)
    base = np.stack(
        [tip_x + half_w * np.cos(t), tip_y - 0.45 * half_w + 0.45 * half_w * np.sin(t)], 1
    )
    add(np.concatenate([[top], base]), col["skin_shade"])
    add(_ellipse(tip_x, tip_y - 0.35 * half_w, 0.45 * half_w, 0.3 * half_w), col["skin"])
    # A dark outline along the base and dark nostrils: texture a drag can hold on to (a shaded
    # nose alone was a blob the generator drew faintly and tracking slid across).
    add(_stroke(base[2:-2], 0.25 * half_w), col["skin_line"])
    for s in (-1.0, 1.0):
        add(
            _ellipse(tip_x + s * 0.5 * half_w, tip_y - 0.3 * half_w, 0.24 * half_w, 0.16 * half_w),
            col["nostril"],
        )
    mark("nose_tip", (tip_x, tip_y))


def _mouth(p, add, mark, a, b, shift, col) -> None:
    """Lips as a curve bent by `smile`; opened, a dark cavity with teeth on top, tongue below."""
    half_w = _param(p, "mouth_width") * a
    cx, cy = 1.1 * shift, _param(p, "mouth_y") * b
    t = _SPAN
    upper_y = cy - _param(p, "smile") * 0.22 * half_w * t**2
    open_h = max(0.0, _param(p, "mouth_open")) * 1.0 * half_w
    lower_y = upper_y + open_h * (1 - t**2) ** 0.7
    x = cx + half_w * t
    upper, lower = np.stack([x, upper_y], 1), np.stack([x, lower_y], 1)
    lip_w = 0.13 * half_w
    upper_w = lip_w * (0.4 + 0.8 * (1 - t**2))
    if open_h > 0:
        add(np.concatenate([upper, lower[::-1]]), (62, 14, 26))
        teeth_y = np.minimum(upper_y + 0.24 * half_w * (1 - t**2) ** 0.4, lower_y)
        add(np.concatenate([upper, np.stack([x, teeth_y], 1)[::-1]]), (250, 248, 240))
        tongue_h = 0.42 * open_h * np.sqrt(np.clip(1 - (t / 0.7) ** 2, 0.0, 1.0))
        tongue_y = np.maximum(lower_y - tongue_h, teeth_y)
        add(np.concatenate([np.stack([x, tongue_y], 1), lower[::-1]]), (236, 86, 104))
        # Lips sit outside the opening: strokes shifted off the inner lip lines by half a width.
        lower_w = lip_w * (0.5 + 1.0 * (1 - t**2))
        add(_stroke(lower + np.stack([0 * t, lower_w / 2], 1), lower_w), col["lip"])
        add(_stroke(upper - np.stack([0 * t, upper_w / 2], 1), upper_w), col["lip"])
        add(_stroke(upper, 0.03 * half_w), (90, 30, 35))
    else:
        lower_lip = np.stack([x, upper_y + 0.5 * lip_w * (1 - t**2) + 0.25 * lip_w], 1)
        add(_stroke(lower_lip, lip_w * 1.3 * (1 - t**2) ** 0.5 + 0.2), col["lip"])
        add(_stroke(upper, upper_w), col["lip"])
        add(_stroke(upper, 0.035 * half_w + 0.15), (90, 30, 35))
    mark("mouth_left", (cx - half_w, upper_y[0]))
    mark("mouth_right", (cx + half_w, upper_y[-1]))
    mark("lip_upper", (cx, cy))
    mark("lip_lower", (cx, cy + open_h))


def _front_hair(p, add, a, b, col) -> None:
    """The hair cap: outer arc over the head, inner edge at the fringe, scalloped by wave."""
    sides = _param(p, "hair_sides")
    theta = np.linspace(np.pi + sides, 2 * np.pi - sides, 40)
    outer = _hair_outer(p, a, b, theta)
    inner_x = 0.93 * a * np.cos(theta)
    wave = _param(p, "hair_wave") * b * np.abs(np.sin(2.5 * np.pi * inner_x / a))
    fringe = -b + _param(p, "hair_fringe") * b + 0.35 * b * (inner_x / a) ** 2 - wave
    inner_y = np.maximum(0.93 * b * np.sin(theta), fringe)
    inner = np.stack([inner_x, inner_y], 1)
    add(np.concatenate([outer, inner[::-1]]), col["hair"])


def draw(face: Face, size: int = 128, supersample: int = 4) -> np.ndarray:
    """Rasterise a Face at supersample x size and box-filter down: uint8 [H, W, 3]."""
    canvas = Image.new("RGB", (size * supersample, size * supersample), face.background)
    pen = ImageDraw.Draw(canvas)
    for polygon, colour in face.polygons:
        pen.polygon((polygon * supersample).ravel().tolist(), fill=colour)
    if supersample > 1:
        canvas = canvas.reduce(supersample)  # box filter: output pixel i = canvas [s i, s i + s)
    return np.asarray(canvas)


def render(
    params: np.ndarray, size: int = 128, supersample: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """One face: (image float32 [3, H, W] in [-1, 1], landmarks float32 [K, 2] as (x, y)).

    Landmarks are in pixel-centre coordinates of the output image (see the module docstring):
    (x, y) is the centre of column x, row y. Deterministic: same params, same pixels.
    """
    face = face_shapes(params, size)
    pixels = draw(face, size, supersample)
    image = pixels.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    return image, (face.landmarks - 0.5).astype(np.float32)


def render_batch(
    z: np.ndarray | torch.Tensor | None = None,
    *,
    params: np.ndarray | torch.Tensor | None = None,
    size: int = 128,
    supersample: int = 4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render a batch from latents z [N, z_dim] (or from `params` [N, NUM_PARAMS]).

    Returns (images float32 [N, 3, H, W] in [-1, 1], landmarks float32 [N, K, 2]) on the CPU.
    """
    if (z is None) == (params is None):
        raise ValueError("render_batch: pass exactly one of z or params=")
    if params is None:
        params = params_from_z(z)
    if isinstance(params, torch.Tensor):
        params = params.detach().cpu().double().numpy()
    params = np.asarray(params, dtype=np.float64).reshape(-1, NUM_PARAMS)
    images = np.empty((len(params), 3, size, size), dtype=np.float32)
    points = np.empty((len(params), NUM_LANDMARKS, 2), dtype=np.float32)
    for i, row in enumerate(params):
        images[i], points[i] = render(row, size, supersample)
    return torch.from_numpy(images), torch.from_numpy(points)
