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
