"""Motion supervision: the engine's loss and gradient equal the plain reference (SPEC §2).

The engine samples the block's own map at the resize source coordinates, which reproduces the
official whole-map resize exactly; so every comparison here is tight (float rounding only), not
merely bounded, including the configurations where F is really resized (feature_block below the
last block). The mask term is computed at image resolution in both.
"""

from __future__ import annotations

import pytest
import torch

from nodes.drag import DragConfig
from nodes.drag.baseline import OfficialFormulation
from nodes.drag.loop import SampledFormulation
from nodes.drag.motion import motion_losses
from tests.drag import reference
from tests.tiny import make_tiny_generator

ONE = [(12.0, 14.0)]
SEVERAL = [(12.0, 14.0), (20.0, 9.0), (5.0, 25.0)]
TARGETS = {1: [(18.0, 11.0)], 3: [(18.0, 11.0), (16.0, 15.0), (9.0, 30.0)]}


def _mask(size: int) -> torch.Tensor:
    """1 = may change: a box around the first handle; the rest is kept."""
    mask = torch.zeros(size, size)
    mask[6:22, 6:26] = 1
    return mask


def _perturbed(ws0: torch.Tensor, layers: int) -> torch.Tensor:
    """A code a few steps into a drag: the first rows moved, so F != F0 and the mask term bites."""
    generator = torch.Generator().manual_seed(1)
    ws = ws0.clone()
    ws[:, :layers] += 0.3 * torch.randn(ws[:, :layers].shape, generator=generator)
    return ws


def _engine_and_reference(G, handles, mask, config, at_start: bool):
    cfg = config.resolve(G.img_resolution, len(G.block_resolutions), G.num_ws)
    ws0 = G.random_ws(3)
    ws = ws0 if at_start else _perturbed(ws0, cfg.layers)
    targets = TARGETS[len(handles)]
    keep = None if mask is None else 1 - mask
    points, goal = torch.tensor(handles), torch.tensor(targets)

    engine = SampledFormulation(G, ws0, points, keep, cfg)
    head = ws[:, : cfg.layers].clone().requires_grad_(True)
    engine_loss = engine.loss(
        engine.features(torch.cat([head, ws[:, cfg.layers :]], 1)), points, goal
    )
    engine_loss.backward()

    head_ref = ws[:, : cfg.layers].clone().requires_grad_(True)
    ref_ws = torch.cat([head_ref, ws[:, cfg.layers :]], 1)
    ref_loss = reference.drag_loss(
        G,
        ref_ws,
        ws0,
        handles,
        targets,
        keep,
        cfg.r1,
        cfg.stop_px,
        cfg.lambda_mask,
        cfg.feature_block,
    )
    ref_loss.backward()
    return engine_loss, head.grad, ref_loss, head_ref.grad


@pytest.mark.parametrize("handles", [ONE, SEVERAL], ids=["1-point", "3-points"])
@pytest.mark.parametrize("with_mask", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("at_start", [True, False], ids=["first-step", "later-code"])
def test_loss_and_gradient_match_reference_when_feature_map_is_image_size(
    tiny_generator, handles, with_mask, at_start
):
    mask = _mask(32) if with_mask else None
    loss, grad, ref_loss, ref_grad = _engine_and_reference(
        tiny_generator, handles, mask, DragConfig(r1=2.5), at_start
    )
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("handles", [ONE, SEVERAL], ids=["1-point", "3-points"])
@pytest.mark.parametrize("with_mask", [False, True], ids=["no-mask", "mask"])
def test_loss_and_gradient_match_reference_when_feature_map_is_resized(handles, with_mask):
    # feature_block 2 of a 32 px model is 16x16, resized x2; 64 px models read block 3 (32x32) the same way.
    G = make_tiny_generator(32)
    mask = _mask(32) if with_mask else None
    config = DragConfig(r1=3, feature_block=2, lambda_mask=20)
    loss, grad, ref_loss, ref_grad = _engine_and_reference(G, handles, mask, config, at_start=False)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-4, atol=1e-7)


def test_fractional_handles_match_reference():
    G = make_tiny_generator(32)
    handles = [(12.3, 14.6), (20.5, 9.25)]
    config = DragConfig(r1=2, feature_block=2)
    cfg = config.resolve(32, len(G.block_resolutions), G.num_ws)
    ws = G.random_ws(5).requires_grad_(True)
    feat = SampledFormulation(G, ws.detach(), torch.tensor(handles), None, cfg).features(ws)
    loss = motion_losses(
        feat, torch.tensor(handles), torch.tensor(TARGETS[3][:2]), cfg.r1, cfg.stop_px, 32
    ).sum()
    ref = reference.motion_supervision_loss(
        reference.resized_features(G, ws, 2), handles, TARGETS[3][:2], cfg.r1, cfg.stop_px
    )
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-7)


def test_stop_gradient_on_anchor_so_only_the_shifted_sample_gets_gradient():
    # Feature map at image size, target straight to the right: d = (1, 0), r1 = 1 -> patch {p}.
    feat = torch.randn(1, 4, 16, 16, requires_grad=True)
    motion_losses(
        feat,
        torch.tensor([[5.0, 7.0]]),
        torch.tensor([[12.0, 7.0]]),
        r1=1,
        stop_px=2,
        image_size=16,
    ).sum().backward()
    touched = feat.grad.abs().sum(dim=1)[0].nonzero().tolist()
    assert touched == [[7, 6]]  # (row y=7, column x=6) = p + d; nothing flows into F(p)


def test_handles_within_stop_px_are_not_pulled():
    """The first handle is 1 px from its target (stop_px 2): its term is zero and no gradient
    reaches its patch, while the second is pulled."""
    feat = torch.randn(1, 4, 16, 16, requires_grad=True)
    handles, targets = torch.tensor([[3.0, 3.0], [11.0, 11.0]]), torch.tensor([[4.0, 3.0], [14.0, 11.0]])
    losses = motion_losses(feat, handles, targets, r1=2, stop_px=2, image_size=16)
    assert float(losses[0].detach()) == 0.0 and float(losses[1].detach()) > 0
    losses.sum().backward()
    touched = feat.grad.abs().sum(dim=1)[0]
    assert float(touched[:7, :7].sum()) == 0.0 and float(touched[8:, 8:].sum()) > 0


def test_official_formulation_matches_reference(tiny_generator):
    G = tiny_generator
    cfg = DragConfig(r1=2.5, feature_block=2).resolve(32, len(G.block_resolutions), G.num_ws)
    ws0 = G.random_ws(3)
    ws = _perturbed(ws0, cfg.layers)
    keep = 1 - _mask(32)
    official = OfficialFormulation(G, ws0, torch.tensor(SEVERAL), keep, cfg)
    loss = official.loss(official.features(ws), torch.tensor(SEVERAL), torch.tensor(TARGETS[3]))
    ref = reference.drag_loss(
        G, ws, ws0, SEVERAL, TARGETS[3], keep, cfg.r1, cfg.stop_px, cfg.lambda_mask, 2
    )
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-7)
