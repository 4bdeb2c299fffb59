"""The toyfaces renderer: deterministic faces whose landmarks move exactly with their geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nodes.toyfaces.params import NUM_PARAMS, default_params, params_from_z, sample_z, with_params
from nodes.toyfaces.render import (
    LANDMARK_INDEX,
    LANDMARK_NAMES,
    NUM_LANDMARKS,
    Face,
    _ellipse,
    draw,
    render,
    render_batch,
)

SIZE = 128


def _random_params(n: int, seed: int = 0) -> np.ndarray:
    return params_from_z(sample_z(n, NUM_PARAMS, seed))


def test_render_is_deterministic_and_in_range():
    params = _random_params(1)[0]
    (img1, lm1), (img2, lm2) = render(params), render(params)
    assert img1.shape == (3, SIZE, SIZE) and img1.dtype == np.float32
    assert lm1.shape == (NUM_LANDMARKS, 2) and lm1.dtype == np.float32
    np.testing.assert_array_equal(img1, img2)
    np.testing.assert_array_equal(lm1, lm2)
    assert img1.min() >= -1.0 and img1.max() <= 1.0


def test_landmarks_are_named_and_cover_the_issue_list():
    assert NUM_LANDMARKS == len(LANDMARK_NAMES) >= 17
    assert len(set(LANDMARK_NAMES)) == NUM_LANDMARKS
    for name in (
        "eye_left_centre",
        "eye_right_outer",
        "brow_left",
        "nose_tip",
        "mouth_left",
        "lip_upper",
        "lip_lower",
        "chin",
        "jaw_right",
        "ear_left",
    ):
        assert name in LANDMARK_INDEX


def test_landmarks_of_random_faces_lie_inside_the_image():
    for params in _random_params(100, seed=5):
        _, landmarks = render(params, supersample=1)
        assert np.all(landmarks > 2) and np.all(landmarks < SIZE - 3)


def test_landmark_convention_is_the_pixel_centre():
    # A disc drawn around a landmark's continuous point must have its intensity centroid at
    # the landmark in pixel-centre coordinates (x, y) = (column, row).
    for landmark in ((40.0, 70.0), (52.3, 61.75)):
        centre = np.array(landmark) + 0.5
        disc = _ellipse(centre[0], centre[1], 6.0, 6.0)
        face = Face(
            polygons=[(disc, (255, 255, 255))], landmarks=np.zeros((0, 2)), background=(0, 0, 0)
        )
        weight = draw(face, SIZE, 4)[..., 0].astype(np.float64)
        rows, cols = np.mgrid[:SIZE, :SIZE]
        centroid = (np.sum(weight * cols) / weight.sum(), np.sum(weight * rows) / weight.sum())
        np.testing.assert_allclose(centroid, landmark, atol=0.03)


def test_moving_the_head_centre_moves_every_landmark_and_the_picture_by_the_same_pixels():
    params = with_params(default_params(), hair_length=0.5, mouth_open=0.5)
    dx, dy = 3.0, 2.0
    moved = with_params(params, head_x=params[0] + dx / SIZE, head_y=params[1] + dy / SIZE)
    img, landmarks = render(params)
    img_moved, landmarks_moved = render(moved)
    np.testing.assert_allclose(
        landmarks_moved - landmarks, np.tile([dx, dy], (NUM_LANDMARKS, 1)), atol=1e-4
    )
    # The picture moves too (away from the bottom edge, where the shirt is cut by the frame).
    inner = img[:, 10:100, 10:110]
    inner_moved = img_moved[:, 12:102, 13:113]
    assert np.abs(inner - inner_moved).mean() < 2e-3


def _mouth_pixels_of_colour(
    img: np.ndarray, landmarks: np.ndarray, rgb: tuple[int, int, int]
) -> int:
    mouth = landmarks[
        [LANDMARK_INDEX[n] for n in ("mouth_left", "mouth_right", "lip_upper", "lip_lower")]
    ]
    (x0, y0), (x1, y1) = (
        np.floor(mouth.min(0) - 3).astype(int),
        np.ceil(mouth.max(0) + 3).astype(int),
    )
    pixels = (img[:, y0:y1, x0:x1].transpose(1, 2, 0) + 1) * 127.5
    return int(np.sum(np.abs(pixels - np.array(rgb)).max(axis=-1) < 12))


@pytest.mark.parametrize("colour", [(250, 248, 240), (236, 86, 104)], ids=["teeth", "tongue"])
def test_opening_the_mouth_reveals_teeth_and_tongue(colour):
    base = default_params()
    opened_img, opened_landmarks = render(with_params(base, mouth_open=1.0))
    closed_img, _ = render(with_params(base, mouth_open=-0.2))
    # Same box for both: the open mouth's, which contains the closed one.
    assert _mouth_pixels_of_colour(closed_img, opened_landmarks, colour) == 0
    assert _mouth_pixels_of_colour(opened_img, opened_landmarks, colour) >= 6


def test_opening_the_mouth_moves_the_lower_lip_down_only():
    base = default_params()
    _, closed = render(with_params(base, mouth_open=0.0))
    _, opened = render(with_params(base, mouth_open=1.0))
    moved = np.flatnonzero(np.abs(opened - closed).max(axis=1) > 1e-6)
    assert moved.tolist() == [LANDMARK_INDEX["lip_lower"]]
    assert opened[LANDMARK_INDEX["lip_lower"], 1] > closed[LANDMARK_INDEX["lip_lower"], 1] + 3


def test_appearance_changes_never_move_landmarks():
    base = default_params()
    _, before = render(base)
    _, after = render(
        with_params(base, skin_tone=0.9, hair_hue=0.3, hair_volume=0.15, hair_length=0.9)
    )
    np.testing.assert_array_equal(before, after)


def test_faces_differ_across_seeds():
    images = [render(p, supersample=1)[0] for p in _random_params(4, seed=2)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(images[i] - images[j]).mean() > 0.05


def test_render_batch_matches_render_from_z_or_params():
    z = torch.from_numpy(sample_z(3, 40, seed=4)).float()
    images, landmarks = render_batch(z, size=64, supersample=2)
    assert images.shape == (3, 3, 64, 64) and landmarks.shape == (3, NUM_LANDMARKS, 2)
    assert images.dtype == torch.float32
    img, lm = render(params_from_z(z.double().numpy())[1], size=64, supersample=2)
    np.testing.assert_allclose(images[1].numpy(), img, atol=1e-6)
    np.testing.assert_allclose(landmarks[1].numpy(), lm, atol=1e-4)
    same, _ = render_batch(params=params_from_z(z))
    assert same.shape == (3, 3, SIZE, SIZE)
    with pytest.raises(ValueError):
        render_batch()
