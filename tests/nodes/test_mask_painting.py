"""Mask painting in closed form per row equals the definition: a pixel is covered when its centre
lies within the radius of the stroke's polyline (checked against a brute-force distance map)."""

from __future__ import annotations

import math
import random

import pytest
import torch

from nodes.mask import MAX_STROKE_POINTS, check_strokes, paint_strokes


def distance_oracle(h: int, w: int, points: list, radius: float) -> torch.Tensor:
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    pts = torch.tensor(points, dtype=torch.float64)
    segments = list(zip(pts[:-1], pts[1:])) if len(pts) > 1 else [(pts[0], pts[0])]
    dist = torch.full((h, w), math.inf, dtype=torch.float64)
    for a, b in segments:
        ab = b - a
        length2 = float(ab.dot(ab))
        t = (
            torch.zeros_like(xs)
            if length2 == 0
            else (((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length2).clamp(0, 1)
        )
        dist = torch.minimum(dist, torch.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])))
    return dist <= radius


@pytest.mark.parametrize("seed", range(40))
def test_painting_covers_exactly_the_pixels_within_the_radius(seed):
    rng = random.Random(seed)
    h, w = rng.randint(1, 48), rng.randint(1, 48)
    points = [[rng.uniform(-12, 60), rng.uniform(-12, 60)] for _ in range(rng.randint(1, 6))]
    if seed % 4 == 1:
        points = [[x, points[0][1]] for x, _ in points]  # horizontal segments
    if seed % 4 == 2:
        points = [[points[0][0], y] for _, y in points]  # vertical segments
    if seed % 4 == 3 and len(points) > 1:
        points[1] = list(points[0])  # a zero-length segment
    radius = rng.uniform(0.3, 25)
    painted = paint_strokes(torch.zeros(h, w), [{"points": points, "radius": radius}])
    assert torch.equal(painted.bool(), distance_oracle(h, w, points, radius))


def test_erase_strokes_clear_what_add_strokes_set():
    strokes = [
        {"points": [[2, 2], [12, 2]], "radius": 3},
        {"points": [[7, 2]], "radius": 2, "mode": "erase"},
    ]
    painted = paint_strokes(torch.zeros(16, 16), strokes)
    assert painted[2, 2] == 1 and painted[2, 7] == 0 and painted[2, 12] == 1


@pytest.mark.parametrize(
    "strokes, message",
    [
        ([{"points": [[0, 0]] * (MAX_STROKE_POINTS + 1), "radius": 1}], "the limit is 100,000"),
        ([{"points": [[0, 1e9]], "radius": 1}], "with numbers within"),
        ([{"points": [[0, 0]], "radius": 1e9}], "radius must be a number in"),
        ([{"points": [[0, 0]], "radius": True}], "radius must be a number in"),
    ],
)
def test_strokes_over_a_limit_are_refused_by_name(strokes, message):
    with pytest.raises(ValueError, match=message):
        check_strokes(strokes)
