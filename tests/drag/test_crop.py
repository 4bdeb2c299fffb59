"""Cropped synthesis (nodes/gan/crop.py): the drag step computes F only on windows around the
handles, and inside them F, the loss, the tracking and the gradients equal the whole-map step's
(float rounding only, SPEC §2 exactness rule)."""

from __future__ import annotations

import functools

import pytest
import torch

from nodes.drag import DragConfig, drag
from nodes.drag.features import block_rows, read_map, synthesize_features
from nodes.drag.loop import SampledFormulation, run_drag
from nodes.drag.region import feature_windows, step_reach
from nodes.gan import StyleGAN3Config, StyleGAN3Generator
from nodes.gan.crop import Window, plan_crops, supports_crops, synthesize_cropped
from nodes.gan.model import ModulationMemo, SynthesisBlock
from nodes.gan.ops import (
    demodulation,
    input_modulated_conv2d,
    modulated_conv2d,
    setup_filter,
)
from tests.tiny import make_tiny_generator

# Handle sets in fractions of the image: one in the middle, one in a corner, two close together
# (their windows merge), five spread out with two on the border.
ONE = [(0.5, 0.45)]
CORNER = [(0.0, 1.0)]
CLOSE = [(0.42, 0.42), (0.44, 0.45)]
FIVE = [(0.2, 0.25), (0.8, 0.2), (0.5, 0.55), (0.0, 0.8), (0.85, 1.0)]


def _pixels(fractions, size: int) -> torch.Tensor:
    return torch.tensor([[round(x * (size - 1)), round(y * (size - 1))] for x, y in fractions])


def _windows(G, block: int, handles: torch.Tensor, r1: float = 1, r2: int = 2) -> list[Window]:
    size = G.img_resolution
    return feature_windows(handles, size, G.block_resolutions[block], step_reach(r1, r2))


def _inside(feat: torch.Tensor, window: Window) -> torch.Tensor:
    return feat[..., window.top : window.bottom, window.left : window.right]


def assert_relative_error_below(actual: torch.Tensor, expected: torch.Tensor, rtol: float):
    """||actual - expected|| <= rtol ||expected||: a gradient compared as a vector (its small
    entries carry the float rounding of the large ones; the cropped and whole-map paths sum in
    different orders)."""
    error = float((actual - expected).norm() / expected.norm())
    assert error <= rtol, f"relative error {error:.2e} > {rtol:.0e}"


@pytest.mark.parametrize(
    "resolution, block",
    [(32, 3), (64, 3), (64, 4), (128, 5)],
    ids=["32px", "64px-b3", "64px", "128px"],
)
@pytest.mark.parametrize("fractions", [ONE, CORNER, CLOSE, FIVE], ids=["1", "corner", "close", "5"])
def test_cropped_features_equal_full_features_inside_every_window_from_every_start_block(
    resolution, block, fractions
):
    G = make_tiny_generator(resolution)
    ws = G.random_ws(1)
    full = G.synthesis(ws, stop_at_block=block)[block]
    windows = _windows(G, block, _pixels(fractions, resolution))
    for start in range(1, block + 1):
        plan = plan_crops(G, block, windows, start_block=start)
        cropped = synthesize_cropped(G, block_rows(G, ws, block), plan).to_dense()
        for window in windows:
            torch.testing.assert_close(
                _inside(cropped, window), _inside(full, window), rtol=1e-5, atol=1e-5
            )


@pytest.mark.parametrize("fractions", [ONE, FIVE], ids=["1", "5"])
def test_cropped_gradient_equals_full_gradient(fractions, monkeypatch):
    # In float64: in float32 a pre-activation within ~1e-7 of a leaky ReLU's kink can take the
    # other slope in one of the two summation orders, and that one element moves the gradient
    # by ~1 % (seen with FIVE: one element of 7,168 at -3e-7); in float64 that needs ~1e-15.
    monkeypatch.setattr(SynthesisBlock, "working_dtype", lambda self, device: torch.float64)
    G = make_tiny_generator(64).double()
    block = 4
    windows = _windows(G, block, _pixels(fractions, 64))
    plan = plan_crops(G, block, windows, start_block=2)
    weights = torch.randn(
        G.synthesis.blocks()[block].conv1.weight.shape[0], 64, 64, dtype=torch.float64
    )
    grads = []
    for cropped in (False, True):
        ws = G.random_ws(2).double().requires_grad_(True)
        feat = synthesize_features(G, ws, block, plan=plan if cropped else None)
        feat = feat.to_dense() if cropped else feat
        assert feat.dtype == torch.float64
        sum((_inside(feat, w) * _inside(weights, w)).sum() for w in windows).backward()
        grads.append(ws.grad)
    assert_relative_error_below(grads[1], grads[0], rtol=1e-10)


def _step(G, config: DragConfig, handles, targets, crop_start_block, ws0, ws):
    """One engine step at ws: tracked handles, loss and the gradient of the optimised rows."""
    cfg = config.resolve(G.img_resolution, len(G.block_resolutions), G.num_ws)
    form = SampledFormulation(G, ws0, handles, None, cfg, crop_start_block=crop_start_block)
    if crop_start_block is None:
        form.crop_plan = lambda handles, extra_reach=None: None  # the whole map, as before cropping existed
    head = ws[:, : cfg.layers].clone().requires_grad_(True)
    feat = form.features(torch.cat([head, ws[:, cfg.layers :]], 1), handles)
    tracked = form.track(feat, handles)
    loss = form.loss(feat, tracked, targets)
    loss.backward()
    return tracked, loss.detach(), head.grad


@pytest.mark.parametrize("resolution", [64, 128])
@pytest.mark.parametrize("fractions", [ONE, CLOSE, FIVE], ids=["1", "close", "5"])
def test_cropped_step_has_the_full_steps_tracking_loss_and_gradient(resolution, fractions):
    G = make_tiny_generator(resolution)
    handles = _pixels(fractions, resolution).float()
    targets = (handles + torch.tensor([6.0, -4.0])).clamp(0, resolution - 1)
    ws0 = G.random_ws(3)
    ws = ws0 + 0.2 * torch.randn(ws0.shape, generator=torch.Generator().manual_seed(0))
    config = DragConfig(r1=2.5, r2=4, tracking="subpixel")
    full = _step(G, config, handles, targets, None, ws0, ws)
    for start in (1, 3):
        tracked, loss, grad = _step(G, config, handles, targets, start, ws0, ws)
        torch.testing.assert_close(tracked, full[0], rtol=0, atol=1e-4)
        torch.testing.assert_close(loss, full[1], rtol=1e-5, atol=0)
        assert_relative_error_below(grad, full[2], rtol=1e-5)


def test_a_cropped_drag_follows_the_whole_map_drag_step_by_step():
    G = make_tiny_generator(64)
    ws = G.random_ws(0)
    handles, targets = [(20.0, 24.0), (44.0, 40.0)], [(28.0, 24.0), (40.0, 46.0)]
    config = DragConfig(steps=6, lr=0.02, r1=2, r2=3)

    class WholeMap(SampledFormulation):
        crops = False

    results = [
        run_drag(G, ws, handles, targets, None, config, None, None, form)
        for form in (WholeMap, functools.partial(SampledFormulation, crop_start_block=2))
    ]
    whole, cropped = results
    assert [h.handles for h in cropped.history] == [h.handles for h in whole.history]
    torch.testing.assert_close(
        torch.tensor([h.loss for h in cropped.history]),
        torch.tensor([h.loss for h in whole.history]),
        rtol=1e-4,
        atol=0,
    )
    torch.testing.assert_close(cropped.ws, whole.ws, rtol=1e-4, atol=1e-5)


def test_close_handles_share_a_window_and_far_ones_run_as_one_batch():
    G = make_tiny_generator(128)
    block = 5
    close = plan_crops(G, block, _windows(G, block, _pixels(CLOSE, 128)), start_block=3)
    assert len(close.groups) == 1 and len(close.groups[0].blocks[block].outputs) == 1
    far = _pixels([(0.2, 0.2), (0.8, 0.3), (0.5, 0.8)], 128)
    spread = plan_crops(G, block, _windows(G, block, far), start_block=3)
    assert len(spread.groups) == 1 and len(spread.groups[0].blocks[block].outputs) == 3


def test_cost_model_crops_a_large_model_but_not_windows_covering_the_map():
    G = make_tiny_generator(128, channel_base=128 * 64, channel_max=64)
    block = 5
    small = plan_crops(G, block, _windows(G, block, _pixels(ONE, 128)))
    assert small is not None and 1 <= small.start_block <= block
    whole = plan_crops(G, block, [Window(0, 0, 128, 128)])
    assert whole is None


def test_a_masked_step_reads_the_whole_map():
    G = make_tiny_generator(64)
    cfg = DragConfig().resolve(64, len(G.block_resolutions), G.num_ws)
    handles = _pixels(ONE, 64).float()
    keep = torch.ones(64, 64)
    form = SampledFormulation(G, G.random_ws(0), handles, keep, cfg, crop_start_block=2)
    assert form.crop_plan(handles) is None
    assert isinstance(form.features(G.random_ws(0), handles), torch.Tensor)


def test_generators_without_local_layers_fall_back_to_the_whole_map():
    G = StyleGAN3Generator(
        StyleGAN3Config(
            z_dim=8, w_dim=8, img_resolution=16, channel_base=256, channel_max=16, mapping_layers=1
        )
    )
    G = G.eval().requires_grad_(False)
    assert not supports_crops(G) and supports_crops(make_tiny_generator(32))
    assert plan_crops(G, 3, [Window(0, 0, 4, 4)], start_block=1) is None
    result = drag(G, G.random_ws(0), [(5.0, 6.0)], [(11.0, 6.0)], config=DragConfig(steps=1, r2=2))
    assert result.steps == 1 and result.stopped == "budget"


@pytest.mark.parametrize("up", [1, 2])
def test_one_style_row_modulates_a_batch_of_crops_as_each_crop_alone(up):
    generator = torch.Generator().manual_seed(0)
    crops = torch.randn(3, 8, 6, 6, generator=generator)
    weight = torch.randn(5, 8, 3, 3, generator=generator)
    styles = torch.randn(1, 8, generator=generator)
    fir = setup_filter([1, 3, 3, 1])
    batch = modulated_conv2d(crops, weight, styles, up=up, padding=1, resample_filter=fir)
    for index in range(3):
        alone = modulated_conv2d(
            crops[index : index + 1], weight, styles, up=up, padding=1, resample_filter=fir
        )
        torch.testing.assert_close(batch[index : index + 1], alone, rtol=1e-5, atol=1e-5)


def test_memo_reuses_the_modulation_of_a_fixed_row_only():
    G = make_tiny_generator(32)
    layer = G.synthesis.b16.conv1
    memo = ModulationMemo()
    w = G.random_ws(0)[:, 5]
    first = memo.modulation(layer, w, torch.float32)
    assert memo.modulation(layer, w.clone(), torch.float32)[0] is first[0]
    assert memo.modulation(layer, w + 1e-3, torch.float32)[0] is not first[0]
    assert memo.modulation(layer, w, torch.float16) is None  # float16 keeps the plain path
    x = torch.randn(1, layer.weight.shape[1], 16, 16)
    torch.testing.assert_close(layer(x, w, memo=memo), layer(x, w), rtol=1e-5, atol=1e-5)


def test_a_memo_of_fixed_rows_trusts_them_while_gradients_are_on_and_compares_them_without():
    """ModulationMemo(fixed_rows=True): during a drag's steps (gradients on) a row without a
    gradient is taken for the fixed row it was (no comparison: a device sync on a GPU); in a
    tracking-only synthesis (no gradients, every row detached) rows are compared, so a row the
    drag optimises is not mistaken for a kept one. forget() drops what it kept."""
    G = make_tiny_generator(32)
    layer = G.synthesis.b16.conv1
    memo = ModulationMemo(fixed_rows=True)
    w = G.random_ws(0)[:, 5]
    first = memo.modulation(layer, w, torch.float32)
    assert memo.modulation(layer, w + 1e-3, torch.float32)[0] is first[0]  # trusted, not compared
    with torch.no_grad():
        assert memo.modulation(layer, w + 1e-3, torch.float32)[0] is not first[0]  # compared
        kept = memo.modulation(layer, w + 1e-3, torch.float32)[0]
    memo.forget()
    assert memo.modulation(layer, w + 1e-3, torch.float32)[0] is not kept


@pytest.mark.parametrize("up", [1, 2])
def test_input_modulation_equals_weight_modulation_forward_and_style_gradient(up):
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 5, 3, 3, generator=generator, dtype=torch.float64)
    styles = torch.randn(1, 5, generator=generator, dtype=torch.float64)
    x = torch.randn(3, 5, 7, 7, generator=generator, dtype=torch.float64)  # a batch of crops
    fir = setup_filter([1, 3, 3, 1]).double()
    probe = torch.randn(3, 6, 7 * up, 7 * up, generator=generator, dtype=torch.float64)
    results = []
    for by_input in (False, True):
        s = styles.clone().requires_grad_(True)
        if by_input:
            d = demodulation(weight.square().sum(dim=[2, 3]), s)
            y = input_modulated_conv2d(x, weight, s, d, up=up, padding=1, resample_filter=fir)
        else:
            y = modulated_conv2d(x, weight, s, up=up, padding=1, resample_filter=fir)
        (y * probe).sum().backward()
        results.append((y.detach(), s.grad))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fractions", [ONE, CORNER, FIVE], ids=["1", "corner", "5"])
def test_cropped_lower_maps_equal_the_full_synthesis_where_the_block_above_read_them(fractions):
    """synthesize_cropped(lower=...) hands over the blocks below F: whole below the start block,
    cropped from it; each holds the region F's windows read (what the multiscale method tracks
    on), with the full synthesis' values there."""
    G = make_tiny_generator(64)
    ws, block = G.random_ws(3), 4
    full = G.synthesis(ws, stop_at_block=block)
    handles = _pixels(fractions, 64)
    windows = _windows(G, block, handles)
    for start in range(1, block + 1):
        lower: dict = {}
        plan = plan_crops(G, block, windows, start_block=start)
        synthesize_cropped(G, block_rows(G, ws, block), plan, lower=lower)
        assert sorted(lower) == list(range(block))
        below = lower[block - 1]
        assert isinstance(below, torch.Tensor) == (start == block)  # whole below the start block
        # The block below at the resize source coordinates of every image pixel in reach.
        reach = step_reach(1, 2)
        span = torch.arange(-reach, reach + 1, dtype=torch.float32)
        points = (handles[:, None, :] + torch.stack(torch.meshgrid(span, span, indexing="xy"), -1).view(1, -1, 2)).clamp(0, 63)
        source = ((points.view(-1, 2) + 0.5) * 32 / 64 - 0.5).clamp(0, 31)
        expected = read_map(full[block - 1], source[:, 0], source[:, 1])
        actual = read_map(below, source[:, 0], source[:, 1])
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_windows_read_as_one_batch_equal_each_window_read_alone_with_their_gradient():
    """read_windows (one indexing op for all windows, the map padded once) gives each window's
    read_window, zeros past the map included, and the same gradient; _trim at per-crop offsets
    gives each crop's own slice."""
    from nodes.gan.crop import _trim, read_window, read_windows

    x = torch.randn(1, 3, 10, 10, generator=torch.Generator().manual_seed(0), requires_grad=True)
    windows = [Window(-2, 1, 5, 5), Window(3, 3, 5, 5), Window(7, 6, 5, 5)]  # past the top, inside, past the corner
    batch = read_windows(x, windows)
    alone = torch.cat([read_window(x, window) for window in windows])
    torch.testing.assert_close(batch, alone, rtol=0, atol=0)
    weights = torch.randn(batch.shape, generator=torch.Generator().manual_seed(1))
    (grad_batch,) = torch.autograd.grad((batch * weights).sum(), x)
    (grad_alone,) = torch.autograd.grad((alone * weights).sum(), x)
    torch.testing.assert_close(grad_batch, grad_alone, rtol=0, atol=1e-6)
    crops = torch.randn(3, 2, 6, 6)
    computed = [Window(0, 0, 6, 6), Window(1, 1, 6, 6), Window(0, 1, 6, 6)]
    wanted = [Window(1, 1, 4, 4), Window(1, 2, 4, 4), Window(2, 2, 4, 4)]  # offsets (1, 1), (0, 1), (2, 1)
    expected = torch.cat([crops[i : i + 1, :, w.top - c.top : w.top - c.top + 4, w.left - c.left : w.left - c.left + 4]
                          for i, (c, w) in enumerate(zip(computed, wanted))])  # fmt: skip
    torch.testing.assert_close(_trim(crops, computed, wanted), expected, rtol=0, atol=0)
