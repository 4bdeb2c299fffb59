"""The face a landmark-pulled edit could infer at best: the renderer's geometry fitted to landmarks.

A drag with 20 handles is told 20 target positions and nothing else. This module asks how well
those positions pin the face down when everything else is known: the start face's appearance,
the renderer itself (no generator between), and which parameters no landmark moves
(params.LANDMARK_BLIND, kept from the start as the landmark-equivalent target keeps them).
`fit_geometry` solves for the other geometry parameters by damped Gauss-Newton on the squared
landmark distance, starting from the true answer, so the fit is as favourable to the estimator as
it can be. With exact targets it returns the landmark-equivalent face. With targets off by the
error a drag's image carries anyway (the generator draws each landmark about half a pixel from
the render's: `bench landmarks`'s `handle_offset_px`), parameters that move the landmarks little
(ear size, gaze, the eyes' size, the mouth's width) come out far from the truth, and the render
shows it. `nodegraph bench landmarks-oracle --fit-noise PX` reports what such fits score against
the target render (docs/DRAG_METHODS.md has the figures).
"""

from __future__ import annotations

import math

import numpy as np

from .params import GEOMETRY_INDICES, HIGH, LANDMARK_BLIND, LOW, PARAMS
from .render import face_shapes

FITTED: tuple[int, ...] = tuple(k for k in GEOMETRY_INDICES if PARAMS[k].name not in LANDMARK_BLIND)
"""The geometry parameters the fit solves for: every one that moves a landmark."""

_SPAN = HIGH - LOW


def landmarks_of(params: np.ndarray) -> np.ndarray:
    """The renderer's landmarks [K, 2] of one face's parameters [NUM_PARAMS] (continuous px)."""
    return face_shapes(np.asarray(params, dtype=np.float64)).landmarks


def landmark_jacobian(params: np.ndarray, step: float = 1e-4, base: np.ndarray | None = None) -> np.ndarray:
    """d landmarks / d parameter [2K, len(FITTED)], each parameter measured as a fraction of its
    range (so a column is the px a landmark moves for the parameter's whole range), by forward
    differences of `step` of the range from `base` (params' landmarks; computed when None)."""
    base = landmarks_of(params) if base is None else base
    columns = []
    for k in FITTED:
        moved = np.array(params, dtype=np.float64, copy=True)
        moved[k] += step * _SPAN[k]
        columns.append(((landmarks_of(moved) - base) / step).ravel())
    return np.stack(columns, axis=1)


def fit_geometry(
    start: np.ndarray, targets: np.ndarray, iterations: int = 25, damping: float = 1e-3
) -> np.ndarray:
    """Parameters [NUM_PARAMS]: `start` with the FITTED geometry moved, within each parameter's
    range, so that the face's landmarks come as near `targets` [K, 2] as damped Gauss-Newton
    (Levenberg, `damping` on the normal equations in range fractions) gets in `iterations` steps.
    Every other parameter is `start`'s."""
    params = np.array(start, dtype=np.float64, copy=True)
    targets = np.asarray(targets, dtype=np.float64)
    fitted = list(FITTED)
    for _ in range(iterations):
        current = landmarks_of(params)
        residual = (targets - current).ravel()
        J = landmark_jacobian(params, base=current)
        step = np.linalg.solve(J.T @ J + damping * np.eye(len(fitted)), J.T @ residual)
        params[fitted] = np.clip(params[fitted] + step * _SPAN[fitted], LOW[fitted], HIGH[fitted])
    return params


def jitter_landmarks(targets: np.ndarray, mean_px: float, rng: np.random.RandomState) -> np.ndarray:
    """`targets` [K, 2] each moved by an isotropic Gaussian whose mean length is `mean_px`
    (a 2-D Gaussian of deviation s has mean length s * sqrt(pi / 2))."""
    sigma = mean_px / math.sqrt(math.pi / 2)
    return np.asarray(targets, dtype=np.float64) + rng.randn(*np.shape(targets)) * sigma


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance between two landmark sets [K, 2], in px."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1).mean())
