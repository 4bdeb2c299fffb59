"""The thin-plate spline and the warp that `bench landmarks-oracle` moves the start render with."""

from __future__ import annotations

import torch

from nodes.toyfaces.landmark_warp import landmark_warp, thin_plate_spline, warp_image


def _points(n: int = 12, seed: int = 0) -> torch.Tensor:
    return (
        torch.rand(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 60
        + 2
    )


def test_the_spline_goes_through_its_points_and_bends_between_them():
    src = _points()
    dst = (
        src
        + torch.randn(src.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        * 3
    )
    f = thin_plate_spline(src, dst)
    torch.testing.assert_close(f(src), dst, atol=1e-8, rtol=0)
    between = (src[:3] + src[3:6]) / 2
    affine = thin_plate_spline(src, dst, smoothing=1e9)
    assert (f(between) - affine(between)).norm(dim=1).max() > 0.1  # it is not the affine fit
    # Smoothing trades exactness at the points for a smoother map.
    smooth = thin_plate_spline(src, dst, smoothing=100.0)
    assert 0 < (smooth(src) - dst).norm(dim=1).mean() < (affine(src) - dst).norm(dim=1).mean()


def test_an_affine_motion_is_reproduced_everywhere_even_with_repeated_points():
    src = torch.cat([_points(), _points()[:2]])  # two points given twice
    matrix = torch.tensor([[0.9, -0.2], [0.3, 1.1]], dtype=torch.float64)
    dst = src @ matrix.T + torch.tensor([4.0, -2.5], dtype=torch.float64)
    anywhere = _points(30, seed=7) * 2 - 20
    for smoothing in (0.0, 100.0):
        f = thin_plate_spline(src, dst, smoothing)
        torch.testing.assert_close(
            f(anywhere), anywhere @ matrix.T + torch.tensor([4.0, -2.5], dtype=torch.float64)
        )


def test_a_whole_pixel_shift_of_the_landmarks_shifts_the_image():
    image = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(3))
    marks = _points(6) / 4
    moved = landmark_warp(image, marks, marks + torch.tensor([2.0, 1.0], dtype=torch.float64))
    # Content at (x, y) now sits at (x + 2, y + 1); the border repeats where nothing came from.
    torch.testing.assert_close(moved[..., 1:, 2:], image[..., :-1, :-2], atol=1e-5, rtol=0)
    torch.testing.assert_close(warp_image(image, lambda p: p), image, atol=1e-6, rtol=0)
