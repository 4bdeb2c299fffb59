"""invert() without the graph: it finds the latent of an image, Pivotal Tuning refines it on a
copy of the generator, and cancel ends it with the last completed state."""

from __future__ import annotations

import threading

import pytest
import torch

from nodes.invert import invert, lpips_available


def test_inverting_an_image_the_generator_made_raises_psnr_well_above_the_start(generator16, own_image):
    result = invert(generator16, own_image, steps=60, space="w+", lr=0.1)
    start = result.history[0].psnr
    assert result.pivot_psnr > start + 8
    assert result.G_tuned is None and result.stopped == "budget"
    assert result.image().shape == own_image.shape


def test_w_space_finds_one_w_for_every_layer(generator16, own_image):
    result = invert(generator16, own_image, steps=30, space="w")
    assert result.ws.shape == (1, generator16.num_ws, generator16.w_dim)
    assert torch.equal(result.ws, result.ws[:, :1].expand_as(result.ws))
    assert result.pivot_psnr > result.history[0].psnr + 4


def test_pivotal_tuning_improves_psnr_on_a_copy(generator16, own_image):
    result = invert(generator16, own_image, steps=40, pti_steps=30, pti_lr=1e-3)
    assert result.psnr > result.pivot_psnr + 2
    assert result.G_tuned is not None and result.generator is result.G_tuned
    assert [e.stage for e in result.history] == ["latent"] * 40 + ["pti"] * 30


def test_the_input_generator_is_never_modified(generator16, own_image):
    before = {name: p.clone() for name, p in generator16.state_dict().items()}
    invert(generator16, own_image, steps=5, pti_steps=5, pti_lr=1e-2)
    after = generator16.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(p.grad is None for p in generator16.parameters())


def test_cancel_during_the_search_returns_the_last_completed_code(generator16, own_image):
    cancel, seen = threading.Event(), []

    def on_step(state):
        seen.append(state.ws)
        if state.step == 4:
            cancel.set()

    result = invert(generator16, own_image, steps=50, pti_steps=10, on_step=on_step, cancel=cancel)
    assert result.cancelled and len(result.history) == 5
    assert torch.equal(result.ws, seen[-1]) and result.G_tuned is None


def test_cancel_during_pivotal_tuning_keeps_the_tuned_copy_so_far(generator16, own_image):
    cancel = threading.Event()

    def on_step(state):
        if state.stage == "pti" and state.step == 12:
            cancel.set()

    result = invert(generator16, own_image, steps=10, pti_steps=20, on_step=on_step, cancel=cancel)
    assert result.cancelled and result.G_tuned is not None
    assert len(result.history) == 13 and result.history[-1].stage == "pti"


def test_an_image_of_the_wrong_size_is_refused_with_the_fix(generator16):
    with pytest.raises(ValueError, match="resize it first"):
        invert(generator16, torch.zeros(1, 3, 32, 32), steps=1)


@pytest.mark.skipif(lpips_available(), reason="lpips and its weights are installed here")
def test_lpips_without_its_weights_is_a_clear_error(generator16, own_image):
    with pytest.raises(ValueError, match="never downloads"):
        invert(generator16, own_image, steps=1, loss="lpips")
