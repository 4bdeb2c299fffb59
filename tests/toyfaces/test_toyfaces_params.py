"""The toyfaces parameter space: z ~ N(0, I) maps through the normal CDF into each range."""

from __future__ import annotations

import numpy as np
import torch

from nodes.toyfaces.params import (
    APPEARANCE_INDICES,
    GEOMETRY_INDICES,
    HIGH,
    LOW,
    NUM_PARAMS,
    PARAMS,
    default_params,
    params_from_z,
    sample_geometry_pair,
    with_params,
    z_for_params,
)


def test_every_param_has_a_kind_and_a_nonempty_range():
    assert NUM_PARAMS == len(PARAMS) >= 20
    assert len({p.name for p in PARAMS}) == NUM_PARAMS
    for p in PARAMS:
        assert p.kind in ("geometry", "appearance") and p.low < p.high and p.doc


def test_params_from_z_stays_inside_every_range_even_for_extreme_z():
    z = np.concatenate(
        [np.random.default_rng(0).standard_normal((64, 40)) * 3, np.full((2, 40), 9.0)]
    )
    z[-1] = -9.0
    params = params_from_z(z)
    assert params.shape == (66, NUM_PARAMS)
    assert np.all(params >= LOW) and np.all(params <= HIGH)


def test_zero_z_maps_to_the_middle_of_every_range():
    np.testing.assert_allclose(params_from_z(np.zeros(NUM_PARAMS)), default_params(), atol=1e-12)


def test_params_from_z_keeps_the_array_type_and_ignores_extra_dims():
    z = torch.randn(3, 512, generator=torch.Generator().manual_seed(0))
    params = params_from_z(z)
    assert isinstance(params, torch.Tensor) and params.shape == (3, NUM_PARAMS)
    np.testing.assert_allclose(params.numpy(), params_from_z(z[:, :NUM_PARAMS].numpy()), atol=1e-6)


def test_z_for_params_inverts_params_from_z():
    z = np.random.default_rng(1).standard_normal((8, 64))
    back = z_for_params(params_from_z(z), z_dim=64, rest=z[:, NUM_PARAMS:])
    np.testing.assert_allclose(back, z, atol=1e-6)


def test_geometry_pair_shares_appearance_and_unused_dims_but_not_geometry():
    z1, z2 = sample_geometry_pair(n=4, z_dim=64, seed=3)
    p1, p2 = params_from_z(z1), params_from_z(z2)
    appearance, geometry = list(APPEARANCE_INDICES), list(GEOMETRY_INDICES)
    np.testing.assert_array_equal(p1[:, appearance], p2[:, appearance])
    np.testing.assert_array_equal(z1[:, NUM_PARAMS:], z2[:, NUM_PARAMS:])
    assert np.all(np.abs(p1[:, geometry] - p2[:, geometry]).max(axis=1) > 0)


def test_with_params_replaces_by_name_and_leaves_the_input_alone():
    base = default_params()
    changed = with_params(base, roll=0.1)
    assert changed[[p.name for p in PARAMS].index("roll")] == 0.1
    assert base[[p.name for p in PARAMS].index("roll")] == 0.0


def _landmarks_moved(params: np.ndarray, index: int) -> float:
    """The most any landmark moves (px) when parameter `index` goes a tenth of its range."""
    from nodes.toyfaces.render import face_shapes

    step = 0.1 * (HIGH[index] - LOW[index])
    other = params.copy()
    other[index] = params[index] + step if params[index] + step <= HIGH[index] else params[index] - step
    return float(np.abs(face_shapes(other).landmarks - face_shapes(params).landmarks).max())


def test_landmark_blind_params_move_no_landmark_and_every_other_geometry_param_moves_one():
    from nodes.toyfaces.params import LANDMARK_BLIND, PARAM_INDEX

    faces = [params_from_z(np.random.RandomState(seed).randn(NUM_PARAMS)) for seed in range(6)]
    blind = {PARAM_INDEX[name] for name in LANDMARK_BLIND}
    assert blind <= set(GEOMETRY_INDICES)
    for index in GEOMETRY_INDICES:
        moved = max(_landmarks_moved(face, index) for face in faces)
        if index in blind:
            assert moved == 0.0, PARAMS[index].name
        else:
            assert moved > 0.01, PARAMS[index].name


def test_landmark_equivalent_has_the_targets_landmarks_and_the_starts_blind_params():
    from nodes.toyfaces.latent_space import face_params, geometry_pair, landmark_equivalent
    from nodes.toyfaces.params import LANDMARK_BLIND, PARAM_INDEX
    from nodes.toyfaces.render import face_shapes

    z1, z2 = geometry_pair(3)
    equivalent = landmark_equivalent(z1, z2)[0].double().numpy()
    start, target = face_params(z1)[0].double().numpy(), face_params(z2)[0].double().numpy()
    blind = [PARAM_INDEX[name] for name in LANDMARK_BLIND]
    assert np.array_equal(equivalent[blind], start[blind])
    assert not np.allclose(equivalent[blind], target[blind])  # the pair differs there
    seen = [i for i in range(NUM_PARAMS) if i not in blind]
    assert np.array_equal(equivalent[seen], target[seen])
    assert np.array_equal(face_shapes(equivalent).landmarks, face_shapes(target).landmarks)
