"""The landmark fit: the renderer's geometry solved from 20 landmark positions, exactly when they
are exact, and off in the parameters that move them little when they are not."""

from __future__ import annotations

import numpy as np
import torch

from nodes.metrics import psnr
from nodes.toyfaces.bench import PAIR_SEEDS
from nodes.toyfaces.landmark_fit import (
    FITTED,
    fit_geometry,
    jitter_landmarks,
    landmark_jacobian,
    landmarks_of,
    mean_distance,
)
from nodes.toyfaces.latent_space import face_params, geometry_pair, landmark_equivalent
from nodes.toyfaces.oracle_bench import fit_figures
from nodes.toyfaces.params import HIGH, LANDMARK_BLIND, LOW, PARAM_INDEX
from nodes.toyfaces.render import render_batch


def _pair(i: int = 0):
    z1, z2 = geometry_pair(PAIR_SEEDS.start + i)
    return z1, z2, face_params(z1)[0].numpy(), landmark_equivalent(z1, z2)[0].numpy()


def test_the_fit_solves_for_every_geometry_parameter_a_landmark_moves():
    assert not {PARAM_INDEX[name] for name in LANDMARK_BLIND} & set(FITTED)
    assert PARAM_INDEX["head_x"] in FITTED and PARAM_INDEX["ear_size"] in FITTED


def test_the_jacobian_is_in_px_per_range_of_each_parameter():
    _, _, start, _ = _pair()
    J = landmark_jacobian(start)
    head_x = J[:, FITTED.index(PARAM_INDEX["head_x"])].reshape(-1, 2)
    span = (HIGH - LOW)[PARAM_INDEX["head_x"]] * 128  # head_x is a fraction of the image width
    assert np.allclose(head_x[:, 0], span, rtol=1e-3) and np.allclose(head_x[:, 1], 0, atol=1e-3)


def test_exact_targets_give_back_the_landmark_equivalent_face_from_the_start_face():
    """Pair 0: from the start face's geometry (about 8 px off) to the target's landmarks and
    parameters; what the landmarks cannot move stays the start's."""
    _, _, start, truth = _pair(0)
    targets = landmarks_of(truth)
    assert mean_distance(landmarks_of(start), targets) > 3
    fitted = fit_geometry(start, targets)
    assert mean_distance(landmarks_of(fitted), targets) < 0.01
    span = HIGH - LOW
    assert np.abs((fitted - truth)[list(FITTED)] / span[list(FITTED)]).max() < 1e-3
    kept = [k for k in range(len(start)) if k not in FITTED]
    assert np.array_equal(fitted[kept], start[kept])


def test_jittered_landmarks_are_off_by_the_asked_mean_length():
    targets = np.zeros((20000, 2))
    moved = jitter_landmarks(targets, 0.49, np.random.RandomState(0))
    assert abs(mean_distance(moved, targets) - 0.49) < 0.01


def test_the_fit_of_noisy_targets_scores_below_the_exact_fit():
    """Pair 3: exact targets give the landmark-equivalent face's render; targets half a pixel
    off (where G draws the landmarks) give faces whose landmarks are as near, and whose render
    is several dB further from the target (ear size, gaze and eye size move landmarks little)."""
    z1, z2, _, truth = _pair(3)
    real2, _ = render_batch(params=face_params(z2))
    exact = fit_figures(landmark_equivalent(z1, z2), real2, 0.0, 4, 1)
    equivalent, _ = render_batch(params=torch.from_numpy(truth)[None])
    assert abs(exact["fit_db"] - float(psnr(equivalent, real2))) < 0.05
    assert exact["fit_distance_px"] < 0.01
    noisy = fit_figures(landmark_equivalent(z1, z2), real2, 0.49, 2, 1)
    assert noisy["fit_distance_px"] < 0.6
    assert noisy["fit_db"] < exact["fit_db"] - 2
    assert noisy["fit_worst_draw_db"] <= noisy["fit_db"]
