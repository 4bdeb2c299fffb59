"""The region of interest: the windows around the handles hold every feature pixel that one step's
tracking and motion supervision read, wherever the tracking lands (SPEC §2)."""

from __future__ import annotations

import itertools

import pytest
import torch

from nodes.drag.features import sample_as_resized
from nodes.drag.loop import SampledFormulation
from nodes.drag.motion import motion_losses
from nodes.drag.region import feature_windows, step_reach
from nodes.drag.tracking import track_points
from nodes.gan.crop import CroppedMap


def _cropped(feat: torch.Tensor, windows) -> CroppedMap:
    pieces = [(w, feat[..., w.top : w.bottom, w.left : w.right]) for w in windows]
    return CroppedMap(pieces, feat.shape[-1])


@pytest.mark.parametrize("image_size, feature_size", [(32, 32), (64, 16), (512, 128)])
@pytest.mark.parametrize("r1, r2", [(1, 2), (2.5, 4), (3, 12)])
def test_windows_hold_every_pixel_a_step_reads(image_size, feature_size, r1, r2):
    feat = torch.randn(1, 3, feature_size, feature_size, generator=torch.Generator().manual_seed(0))
    last = image_size - 1
    handles = torch.tensor([[0.3 * last, 0.6 * last], [0.0, last], [last, 3.0], [5.4, 7.6]])
    cropped = _cropped(feat, feature_windows(handles, image_size, feature_size, step_reach(r1, r2)))
    reference = sample_as_resized(feat, handles.flip(0), image_size)
    for mode in ("nn", "subpixel"):
        torch.testing.assert_close(
            track_points(cropped, handles, reference, image_size, r2, mode),
            track_points(feat, handles, reference, image_size, r2, mode),
        )
    # The loss runs where tracking may have moved each handle: the window's corners, half a
    # pixel beyond for 'subpixel', pulled in eight directions.
    reach = r2 + 0.5
    directions = [(dx, dy) for dx, dy in itertools.product((-1, 0, 1), repeat=2) if dx or dy]
    for corner in itertools.product((-reach, reach), repeat=2):
        tracked = (handles.round() + torch.tensor(corner)).clamp(0, last)
        for direction in directions:
            targets = tracked + 10 * torch.tensor(direction, dtype=torch.float32)
            torch.testing.assert_close(
                motion_losses(cropped, tracked, targets, r1, 0.0, image_size).sum(),
                motion_losses(feat, tracked, targets, r1, 0.0, image_size).sum(),
            )


def test_a_point_outside_every_window_is_refused():
    feat = torch.randn(1, 2, 32, 32)
    windows = feature_windows(torch.tensor([[8.0, 8.0]]), 32, 32, step_reach(1, 2))
    with pytest.raises(ValueError, match="outside every window"):
        sample_as_resized(_cropped(feat, windows), torch.tensor([[30.0, 30.0]]), 32)


def test_deferred_window_checks_keep_the_flag_for_the_caller():
    """Within deferred_window_checks a read outside every window raises nothing at once (no
    device sync); its flag is kept for the caller, and is False for a read the windows hold."""
    from nodes.gan.crop import deferred_window_checks

    feat = torch.randn(1, 2, 32, 32)
    cropped = _cropped(feat, feature_windows(torch.tensor([[8.0, 8.0]]), 32, 32, step_reach(1, 2)))
    with deferred_window_checks() as checks:
        sample_as_resized(cropped, torch.tensor([[8.0, 8.0]]), 32)
        sample_as_resized(cropped, torch.tensor([[30.0, 30.0]]), 32)
    assert [bool(flag) for flag in checks] == [False, True]


class _CornerCrops(SampledFormulation):
    """Crops planned around the image's corner, whatever the handles: the step's reads miss."""

    def crop_plan(self, handles, extra_reach=None):
        return None if handles is None else super().crop_plan(torch.zeros_like(handles), extra_reach)


def test_a_drag_step_whose_crops_miss_its_points_is_refused(tiny_generator):
    """The step's deferred window checks come back with its figures: the drag raises the
    CroppedMap error instead of stepping on values read outside the crops."""
    from nodes.drag import DragConfig
    from nodes.drag.loop import run_drag

    config = DragConfig(method="draggan", steps=3, r1=2, r2=3)
    ws = tiny_generator.random_ws(0)
    with pytest.raises(ValueError, match="outside every window"):
        run_drag(tiny_generator, ws, [(20.0, 20.0)], [(24.0, 20.0)], None, config, None, None, _CornerCrops)
