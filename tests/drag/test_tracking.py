"""Point tracking: nearest neighbour finds known displacements; the robust modes do no worse."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nodes.drag.features import sample_as_resized
from nodes.drag.tracking import track_points
from tests.drag import reference
from tests.tiny import make_tiny_generator

SIZE = 48


def smooth_features(channels: int = 8, size: int = SIZE, seed: int = 0) -> torch.Tensor:
    """A textured map with a single best match per point: blurred noise, [1, C, size, size]."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, channels, size // 4, size // 4, generator=generator)
    return F.interpolate(noise, size=[size, size], mode="bicubic", align_corners=False)


def translate(feat: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """The content moved by (dx, dy) pixels: out(x, y) = feat(x - dx, y - dy), border replicated."""
    size = feat.shape[-1]
    pixels = torch.arange(size, dtype=torch.float32)
    gy, gx = torch.meshgrid(pixels - dy, pixels - dx, indexing="ij")
    grid = torch.stack([gx / (size - 1) * 2 - 1, gy / (size - 1) * 2 - 1], dim=-1)[None]
    return F.grid_sample(feat, grid, align_corners=True, padding_mode="border")


HANDLES = torch.tensor([[20.0, 20.0], [30.0, 16.0], [14.0, 30.0]])


@pytest.mark.parametrize("norm", ["l2", "l1"])
def test_nn_finds_a_known_integer_displacement(norm):
    feat0 = smooth_features()
    moved = translate(feat0, 3, -2)
    reference_features = sample_as_resized(feat0, HANDLES, SIZE)
    found = track_points(moved, HANDLES, reference_features, SIZE, r2=6, mode="nn", norm=norm)
    torch.testing.assert_close(found, HANDLES + torch.tensor([3.0, -2.0]))


def test_nn_tracking_matches_reference_on_a_resized_feature_map():
    G = make_tiny_generator(32)
    ws0, ws = G.random_ws(0), G.random_ws(1)
    feat0 = G.synthesis(ws0, stop_at_block=2)[2]
    feat = G.synthesis(ws, stop_at_block=2)[2]
    handles = [(10.0, 12.0), (1.0, 30.0), (25.0, 3.0)]
    refs = sample_as_resized(feat0, torch.tensor(handles), 32)
    found = track_points(feat, torch.tensor(handles), refs, 32, r2=4)
    resized = F.interpolate(feat, [32, 32], mode="bilinear", align_corners=False)
    assert [tuple(p) for p in found.tolist()] == reference.track(resized, handles, refs, r2=4)


def test_subpixel_mode_recovers_a_fractional_displacement_better_than_nn():
    feat0 = smooth_features()
    moved = translate(feat0, 1.4, -0.7)
    refs = sample_as_resized(feat0, HANDLES, SIZE)
    truth = HANDLES + torch.tensor([1.4, -0.7])
    nn_error = (track_points(moved, HANDLES, refs, SIZE, r2=6, mode="nn") - truth).norm(dim=1)
    sub_error = (track_points(moved, HANDLES, refs, SIZE, r2=6, mode="subpixel") - truth).norm(
        dim=1
    )
    assert float(sub_error.mean()) < float(nn_error.mean())
    assert float(sub_error.max()) < 0.5


def test_consistent_mode_tracks_at_least_as_well_as_nn_on_a_textureless_region_with_noise():
    # Left half textured, right half flat plus weak noise: there the nearest neighbour is decided
    # by noise anywhere in the window; the truth is the content's one-pixel move per step.
    generator = torch.Generator().manual_seed(0)
    feat0 = smooth_features(size=64)
    feat0[..., 32:] = feat0[..., 32:33].mean()
    handles0 = torch.tensor([[x, y] for x in (40.0, 46.0, 52.0) for y in (12.0, 24.0, 36.0, 48.0)])
    refs = sample_as_resized(feat0, handles0, 64)
    errors = {}
    for mode in ("nn", "consistent"):
        handles = handles0.clone()
        for step in range(1, 6):
            moved = translate(feat0, step, 0) + 0.01 * torch.randn(
                1, 8, 64, 64, generator=generator
            )
            handles = track_points(moved, handles, refs, 64, r2=8, mode=mode, max_jump_px=2)
        errors[mode] = float((handles - (handles0 + torch.tensor([5.0, 0.0]))).norm(dim=1).mean())
    # Measured: nn wanders 14.9 px on average, consistent 5.4 px (it cannot see a flat region move).
    assert errors["consistent"] <= errors["nn"]


def test_consistent_mode_follows_a_textured_point_like_nn():
    feat0 = smooth_features()
    refs = sample_as_resized(feat0, HANDLES, SIZE)
    moved = translate(feat0, 1, 1)
    nn = track_points(moved, HANDLES, refs, SIZE, r2=6, mode="nn")
    consistent = track_points(moved, HANDLES, refs, SIZE, r2=6, mode="consistent", max_jump_px=2)
    torch.testing.assert_close(consistent, nn)


def test_window_is_clipped_to_the_image():
    feat0 = smooth_features()
    corner = torch.tensor([[0.0, 0.0]])
    found = track_points(feat0, corner, sample_as_resized(feat0, corner, SIZE), SIZE, r2=5)
    torch.testing.assert_close(found, corner)
