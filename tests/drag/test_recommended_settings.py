"""A checkpoint may recommend drag settings; a DragConfig field left empty takes them (SPEC §5)."""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig, drag, recommended_settings
from nodes.drag.config import OFFICIAL_LR, RECOMMENDATIONS_KEY
from tests.tiny import make_tiny_generator


def resolve(config: DragConfig, recommended=None):
    return config.resolve(img_resolution=32, num_blocks=4, num_ws=8, recommended=recommended)


def test_an_empty_lr_takes_the_official_default_without_a_recommendation():
    assert resolve(DragConfig()).lr == OFFICIAL_LR == 0.001


def test_an_empty_field_takes_the_recommendation_and_a_set_field_keeps_its_value():
    recommended = {"lr": 5e-3, "r2": 7}
    assert resolve(DragConfig(), recommended).lr == 5e-3
    assert resolve(DragConfig(), recommended).r2 == 7
    assert resolve(DragConfig(lr=2e-3, r2=3), recommended).lr == 2e-3
    assert resolve(DragConfig(lr=2e-3, r2=3), recommended).r2 == 3


def test_only_fields_that_can_be_left_empty_are_taken_from_a_checkpoint():
    resolved = resolve(DragConfig(), {"steps": 5, "layers": 1, "unknown": 3})
    assert resolved.steps == DragConfig().steps and resolved.layers == DragConfig().layers


@pytest.mark.parametrize("bad", [{"lr": -1.0}, {"lr": float("nan")}, {"lr": "fast"}, {"r2": 0}])
def test_an_invalid_recommendation_is_refused_naming_the_field(bad):
    field = next(iter(bad))
    with pytest.raises(ValueError, match=f"recommended drag setting is invalid: DragConfig.{field}"):
        resolve(DragConfig(), bad)


def test_a_recommendation_that_is_not_an_object_is_refused():
    G = make_tiny_generator()
    G.config.extra = {RECOMMENDATIONS_KEY: [0.1]}
    with pytest.raises(ValueError, match="must be a JSON object"):
        recommended_settings(G)


def first_step_size(G) -> float:
    """Adam's first step moves every optimised coordinate by about its lr."""
    ws = G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(0)))
    result = drag(G, ws, [(10, 12)], [(20, 12)], config=DragConfig(steps=1, stop_px=0.1))
    return float((result.ws - ws).abs().max())


def test_drag_uses_the_lr_its_generator_recommends():
    G = make_tiny_generator()
    assert first_step_size(G) == pytest.approx(OFFICIAL_LR, rel=0.05)
    G.config.extra = {RECOMMENDATIONS_KEY: {"lr": 0.05}}
    assert first_step_size(G) == pytest.approx(0.05, rel=0.05)


def test_the_result_carries_the_settings_the_drag_ran_with_recommendations_filled_in():
    """The DragOptimizer node reads its stop distance for the end report from here."""
    G = make_tiny_generator()
    G.config.extra = {RECOMMENDATIONS_KEY: {"stop_px": 0.5, "r2": 4}}
    ws = G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(0)))
    result = drag(G, ws, [(10, 12)], [(20, 12)], config=DragConfig(steps=1))
    assert (result.config.stop_px, result.config.r2, result.config.steps) == (0.5, 4, 1)
