"""The toyfaces landmark detector: shapes, the soft-argmax pixel convention, save and load."""

from __future__ import annotations

import pytest
import torch

from nodes.toyfaces.bundled import DETECTOR_FILE
from nodes.toyfaces.landmarks import (
    DetectorConfig,
    LandmarkDetector,
    augment,
    held_out_error,
    load_detector,
    save_detector,
)
from nodes.toyfaces.render import NUM_LANDMARKS

TINY = DetectorConfig(widths=(4, 8), image_size=32)


def test_detector_maps_images_to_one_point_per_landmark():
    detector = LandmarkDetector(TINY).eval()
    points = detector(torch.zeros(2, 3, 32, 32))
    assert points.shape == (2, NUM_LANDMARKS, 2)


def test_soft_argmax_of_a_peaked_heatmap_is_that_cell_centre_in_pixel_coordinates(monkeypatch):
    detector = LandmarkDetector(TINY).eval()
    logits = torch.full((1, NUM_LANDMARKS, 16, 16), -1e4)
    logits[:, :, 5, 9] = 0.0  # row 5, column 9 of a half-resolution map
    monkeypatch.setattr(detector, "heatmaps", lambda image: logits)
    points = detector(torch.zeros(1, 3, 32, 32))
    # Cell 9 covers image columns 18 and 19: its centre is between them, x = 18.5.
    torch.testing.assert_close(points[0, 0], torch.tensor([18.5, 10.5]))


def test_augment_keeps_shape_and_range():
    ramp = torch.linspace(-0.9, 0.9, 32)
    images = (ramp[None, :] + ramp[:, None]).clamp(-1, 1).expand(3, 3, 32, 32).contiguous()
    out = augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.min() >= -1 and out.max() <= 1
    assert (out - images).abs().mean() < 0.1


def test_saved_detector_loads_with_the_same_outputs(tmp_path):
    detector = LandmarkDetector(TINY).eval()
    save_detector(detector, tmp_path / "d.safetensors", {"steps": 0})
    loaded = load_detector(tmp_path / "d.safetensors")
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(loaded(image), detector(image))


@pytest.mark.slow
@pytest.mark.skipif(not DETECTOR_FILE.is_file(), reason="bundled detector weights not trained")
def test_bundled_detector_meets_the_issue_bar_on_held_out_renders():
    # Issue 7 asks <= 0.75 px on held-out renders (the shipped weights measured 0.52 px on 256);
    # 64 of them here to keep the suite fast.
    torch.set_num_threads(1)
    assert held_out_error(load_detector(), n=64) <= 0.75
